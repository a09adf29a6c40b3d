"""The code location: everything under ``orchestration/defs/`` (ingest, transform, quality, reconcile, writeback).

Run it with ``make ui`` or ``dagster dev -m orchestration.definitions``; see docs/orchestration.md.
"""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
