"""The mesh platform, one room per concern; each room imports only the rooms above it in this list.

- ``core``: what the mesh declares and where it lives: domain specs, data contracts, partitions,
  names, paths, the process environment, errors, SQL identifiers, the DuckDB file.
- ``orchestration``: automation conditions, retries, alerts, the embedded Dagster instance, run
  launching and the recovery of runs whose process died.
- ``ingestion``: landing files as received, record formats, typed values, bronze, and the sensors
  and schedules that start ingestion.
- ``quality``: the gates: the Great Expectations audit from a contract, extra expectations, the
  personal-data scan, SQL checks, and the masking of personal data.
- ``ports``: output ports as Iceberg tables (write, publish, versions), consumers' pinned snapshots,
  and the gated hand-off.
- ``transformation``: a domain's dbt project as Dagster assets, its plugin, model contracts, and the
  one walker over its manifest (lineage).
- ``governance``: the policies over specs, contracts and dbt projects, and the contract diff.
- ``components``: a domain's code location, built from its spec.
- ``meta``: the meta-orchestrator's code location.
- ``cli``: the ``mesh`` command.
- ``devtools``: the sample-data generator and the benchmark, which the production image leaves out.
"""
