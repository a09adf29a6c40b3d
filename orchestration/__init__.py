"""The Dagster code location: ``orchestration.definitions`` assembles what ``orchestration/defs/`` holds."""
