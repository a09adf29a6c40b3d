"""The writeback (repair) stage: the ledger, the engine that applies ``marts.repair_actions``, and
the Dagster ``repair_job`` that runs it. See docs/writeback.md."""
