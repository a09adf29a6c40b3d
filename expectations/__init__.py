"""Data-quality stage: a Great Expectations 1.x File Data Context plus the code that runs it.

This directory is both the GX context root (``great_expectations.yml``, suites under
``expectations/``, ``validation_definitions/``, ``checkpoints/``: files in git, written by
``python -m expectations.suites``) and a Python package. ``expectations.checks`` is what the
Dagster asset checks and ``shoptok quality`` call; it imports GX lazily because importing GX
costs seconds and the Dagster code location must load fast. Runtime output (validation results,
Data Docs HTML, the row-count history) goes under ``uncommitted/``, which git ignores.
"""
