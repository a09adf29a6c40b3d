"""The clean default merchant passes every check, run the way a user runs it: ``shoptok quality``.

The command runs once for the module (it is the expensive part: every suite, one Data Docs build);
``run_all``'s outcomes are captured on the way so each check can be asserted individually.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from expectations import checks
from shoptok.quality_cli import quality_cmd

pytestmark = pytest.mark.slow


def quality_app() -> typer.Typer:
    app = typer.Typer()
    app.command("quality")(quality_cmd)
    app.command("noop")(lambda: None)  # two commands, so "quality" is a subcommand as in shoptok
    return app


@pytest.fixture(scope="module")
def clean(built_merchant, tmp_path_factory):
    root = tmp_path_factory.mktemp("quality_clean")
    docs = root / "docs"
    captured: dict[str, checks.CheckOutcome] = {}
    real_run_all = checks.run_all

    def spy(*args, **kwargs):
        captured.update(real_run_all(*args, **kwargs))
        return captured

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(checks, "DEFAULT_DOCS_DIR", docs)
        mp.setattr(checks, "DEFAULT_HISTORY", root / "row_counts.json")
        mp.setattr(checks, "run_all", spy)
        mp.delenv("SHOPTOK_AS_OF", raising=False)
        result = CliRunner().invoke(
            quality_app(), ["quality", "--warehouse", str(built_merchant.warehouse)], env={"COLUMNS": "220"}
        )
    return result, captured, docs


def test_every_check_passes_on_the_clean_default_merchant(clean) -> None:
    result, outcomes, _ = clean
    failed = {
        name: {k: o.metadata.get(k) for k in ("failing_examples", "exception_info")}
        for name, o in outcomes.items()
        if not o.passed
    }
    assert not failed, json.dumps(failed, indent=2, default=str)[:6000]
    assert set(outcomes) == {c.name for c in checks.CHECKS}
    for name, outcome in outcomes.items():
        assert outcome.metadata["evaluated_expectations"] > 0, name
        assert outcome.metadata["failed_expectations"] == 0, name
    assert result.exit_code == 0, result.output
    assert f"{len(checks.CHECKS)} checks, {len(checks.CHECKS)} passed, 0 blocking failure(s)" in result.output


def test_the_build_clock_is_the_default_as_of(clean, built_merchant) -> None:
    _, outcomes, _ = clean
    assert {o.metadata["as_of"] for o in outcomes.values()} == {built_merchant.as_of.isoformat()}


def test_data_docs_page_per_check_is_written_and_linked(clean) -> None:
    result, outcomes, docs = clean
    assert (docs / "index.html").is_file()
    assert str(docs / "index.html") in result.output.replace("\n", "")
    for name, outcome in outcomes.items():
        page = Path(outcome.metadata["data_docs_path"])
        assert page.is_file() and page.suffix == ".html", name
        assert page.resolve().is_relative_to(docs.resolve()), name
        assert name in page.read_text()
        assert outcome.metadata["data_docs_url"] == page.as_uri()
        json.dumps(outcome.metadata)  # plain JSON for Dagster metadata
