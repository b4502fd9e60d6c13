"""Output ports and hand-offs: the Iceberg catalog, product tables (write, publish, versions), pinned
reads, and the gated hand-off.
"""
