"""Fixtures of the Dagster code-location tests: the loaded definitions, once per module."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def repo():
    """The code location's repository (definitions loaded through orchestration.definitions)."""
    from orchestration.definitions import defs

    return defs().get_repository_def()
