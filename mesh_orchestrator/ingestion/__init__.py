"""Ingestion: landing files as received, reading record formats, typing values, bronze, and the sensors and
schedules that start it.
"""
