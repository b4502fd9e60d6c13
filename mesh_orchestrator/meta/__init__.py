"""The meta-orchestrator code location: one gated hand-off per data product of every domain."""
