"""The analyst copy: analysts hold connections on it while the pipeline writes and republishes.

The control test shows why it exists (a read-only connection on the warehouse itself makes the
writer fail) and that the writer used here would notice being blocked; the main test holds a
connection on the copy through a real dbt run and a second publish, and checks what the holder
sees: its old snapshot, until it reconnects.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap

import duckdb
import pytest

from shoptok.reports.analyst_copy import default_analyst_copy_path, publish_analyst_copy
from shoptok.transform import run_dbt

pytestmark = pytest.mark.slow

WRITER = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1])
    con.execute("create schema if not exists scratch")
    con.execute("create or replace table scratch.marker as select cast(? as integer) as v", [int(sys.argv[2])])
    con.close()
    """
)


def write_marker(warehouse, value: int) -> subprocess.CompletedProcess:
    """Another process writes the warehouse, as the pipeline does (DuckDB's locks are per process)."""
    return subprocess.run(
        [sys.executable, "-c", WRITER, str(warehouse), str(value)], capture_output=True, text=True, timeout=60
    )


def read_marker_elsewhere(copy) -> int:
    code = (
        "import sys, duckdb; c = duckdb.connect(sys.argv[1], read_only=True); "
        "print(c.execute('select v from scratch.marker').fetchone()[0])"
    )
    out = subprocess.run([sys.executable, "-c", code, str(copy)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-800:]
    return int(out.stdout.strip())


def mart_counts(path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
            ).fetchall()
        ]
        return {t: con.execute(f"select count(*) from marts.{t}").fetchone()[0] for t in tables}
    finally:
        con.close()


def test_publish_copies_the_marts_and_says_how_fresh(built_merchant, tmp_path):
    target = tmp_path / "warehouse.analyst.duckdb"
    assert publish_analyst_copy(built_merchant.warehouse, target) == target
    assert mart_counts(target) == mart_counts(built_merchant.warehouse)
    con = duckdb.connect(str(target), read_only=True)
    try:
        published_at, source, data_as_of, _ = con.execute("select * from meta.snapshot").fetchone()
        assert source == str(built_merchant.warehouse.resolve())
        assert data_as_of == built_merchant.as_of.replace(tzinfo=None)
        # staging / intermediate views work in the copy (they are schema-qualified, not catalog-qualified)
        assert con.execute("select count(*) from intermediate.int_statement_transactions_classified").fetchone()[0]
    finally:
        con.close()
    assert not stat.S_IMODE(target.stat().st_mode) & 0o222, "the copy is published read-only"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name], "no temp files left behind"


def test_a_connection_on_the_warehouse_itself_blocks_the_writer(built_copy):
    """Why the copy exists, and proof that ``write_marker`` notices a lock."""
    holder = duckdb.connect(str(built_copy), read_only=True)
    try:
        blocked = write_marker(built_copy, 1)
    finally:
        holder.close()
    assert blocked.returncode != 0
    assert "lock" in blocked.stderr.lower(), blocked.stderr[-800:]
    assert write_marker(built_copy, 1).returncode == 0


def test_a_held_copy_never_blocks_a_run_and_keeps_its_snapshot(built_copy, built_merchant):
    warehouse = built_copy
    copy = default_analyst_copy_path(warehouse)
    assert write_marker(warehouse, 1).returncode == 0
    publish_analyst_copy(warehouse, copy)

    analyst = duckdb.connect(str(copy), read_only=True)  # an analyst keeps this open throughout
    try:
        assert analyst.execute("select v from scratch.marker").fetchone()[0] == 1

        # a pipeline run: a real dbt model rebuild, then another write, both while the analyst holds the copy
        run = run_dbt(
            ["run", "--select", "rpt_weekly_payout_reconciliation"], warehouse=warehouse, as_of=built_merchant.as_of
        )
        assert run.ok, run.output[-3000:]
        wrote = write_marker(warehouse, 2)
        assert wrote.returncode == 0, wrote.stderr[-800:]

        # and the next publish, still while the analyst holds the old copy
        publish_analyst_copy(warehouse, copy)

        # the holder keeps reading the snapshot it opened (the old file lives on until it closes) ...
        assert analyst.execute("select v from scratch.marker").fetchone()[0] == 1
        assert analyst.execute("select count(*) from marts.rpt_weekly_payout_reconciliation").fetchone()[0] > 0
        # ... and so does a second connection from the same process: DuckDB shares one database
        # instance per path within a process (docs/analysts.md tells analysts to close and reconnect)
        same_process = duckdb.connect(str(copy), read_only=True)
        try:
            assert same_process.execute("select v from scratch.marker").fetchone()[0] == 1
        finally:
            same_process.close()
        # ... while another analyst (another process) opening the copy now gets the new snapshot
        assert read_marker_elsewhere(copy) == 2
    finally:
        analyst.close()
    # once the holder has closed, reconnecting sees the new snapshot and the old file is gone
    again = duckdb.connect(str(copy), read_only=True)
    try:
        assert again.execute("select v from scratch.marker").fetchone()[0] == 2
    finally:
        again.close()
    assert sorted(p.name for p in copy.parent.iterdir() if p.name.startswith(f".{copy.name}")) == []


def test_publish_refuses_to_copy_a_warehouse_being_written(built_copy, tmp_path):
    """A writer mid-run holds the lock: publishing fails fast instead of copying a torn database."""
    target = tmp_path / "analyst.duckdb"
    publish_analyst_copy(built_copy, target)
    before = target.stat().st_ino
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, duckdb; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); sys.stdin.read()",
            str(built_copy),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(duckdb.Error):
            publish_analyst_copy(built_copy, target)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert target.stat().st_ino == before, "the previous copy stays in place"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_failed_publish_keeps_the_previous_copy(built_merchant, tmp_path):
    target = tmp_path / "analyst.duckdb"
    publish_analyst_copy(built_merchant.warehouse, target)
    counts = mart_counts(target)
    with pytest.raises(FileNotFoundError):
        publish_analyst_copy(tmp_path / "missing.duckdb", target)
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_bytes(os.urandom(8192))
    with pytest.raises(duckdb.Error):
        publish_analyst_copy(garbage, target)
    assert mart_counts(target) == counts
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, garbage.name])
