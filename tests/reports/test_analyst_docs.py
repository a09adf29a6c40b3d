"""Every SQL recipe in docs/analysts.md runs against a freshly built warehouse and returns rows.

Analysts copy these queries verbatim; a recipe that errors (a renamed column) or silently returns
nothing (a renamed drift type) would be worse than no recipe, so the page is tested like code.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from shoptok.reports.analyst_copy import publish_analyst_copy

pytestmark = pytest.mark.slow
DOC = Path(__file__).resolve().parents[2] / "docs" / "analysts.md"
RECIPES = re.findall(r"```sql\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def _title(sql: str) -> str:
    first = sql.strip().splitlines()[0]
    return re.sub(r"\W+", "_", first.lstrip("- ").lower())[:50]


def test_there_are_a_dozen_recipes():
    assert len(RECIPES) >= 12


@pytest.fixture(scope="module")
def warehouse_con(built_merchant):
    con = duckdb.connect(str(built_merchant.warehouse), read_only=True)
    yield con
    con.close()


@pytest.mark.parametrize("sql", RECIPES, ids=[_title(s) for s in RECIPES])
def test_recipe_returns_rows(warehouse_con, sql):
    rows = warehouse_con.execute(sql).fetchall()
    assert rows, "the recipe returned nothing on the default merchant"


def test_recipes_run_on_the_analyst_copy_too(built_merchant, tmp_path):
    copy = publish_analyst_copy(built_merchant.warehouse, tmp_path / "warehouse.analyst.duckdb")
    con = duckdb.connect(str(copy), read_only=True)
    try:
        for sql in RECIPES:
            assert con.execute(sql).fetchall(), sql
        assert con.execute("select data_as_of from meta.snapshot").fetchone()[0] is not None
    finally:
        con.close()
