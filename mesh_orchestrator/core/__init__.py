"""The foundation every other room builds on: the domain spec, typed YAML models, names, paths,
settings, errors, SQL identifiers and the DuckDB file.
"""
