"""The foundation every other room builds on: the domain spec, names, paths, settings, errors, SQL
identifiers and the DuckDB file.
"""
