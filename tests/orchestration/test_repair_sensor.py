"""The repair sensor, called directly: stable run keys per plan, ledger-aware, blocked by failed blocking checks."""

import hashlib

import dagster as dg
import duckdb
import pytest

from orchestration.defs.reconcile.sensors import build_repair_sensor, evaluate_repair
from orchestration.defs.resources import WarehouseResource

PLAN = [("a1", "set_tiktok_inventory"), ("a2", "push_tracking_to_tiktok"), ("a3", "alert")]


def write_plan(path, actions, ledger=None):
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists marts")
        con.execute("create or replace table marts.repair_actions (action_id varchar, action_type varchar)")
        if actions:
            con.executemany("insert into marts.repair_actions values (?, ?)", actions)
        if ledger is not None:
            con.execute("create schema if not exists ops")
            con.execute("create or replace table ops.writeback_ledger (action_id varchar, status varchar)")
            con.executemany("insert into ops.writeback_ledger values (?, ?)", list(ledger.items()))
    finally:
        con.close()


class RepairConfig(dg.Config):
    dry_run: bool = True
    allow: list[str] = []


@dg.op
def apply_repair_plan(config: RepairConfig) -> None:
    return None


@dg.job(name="repair_job")
def fake_repair_job():
    apply_repair_plan()


@dg.asset(key=["marts", "repair_actions"])
def repair_actions() -> None:
    return None


def plan_check(passed: bool) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=repair_actions, name="plan_is_valid", blocking=True)
    def plan_is_valid() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=passed)

    return plan_is_valid


@pytest.fixture(scope="module")
def shared_instance():
    """For tests that neither launch runs nor record check evaluations."""
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    write_plan(path, PLAN)
    return WarehouseResource(path=str(path), pipelines_dir=str(tmp_path / "dlt"))


def fake_defs(auto_apply=frozenset()):
    return dg.Definitions(
        assets=[repair_actions],
        asset_checks=[plan_check(True)],
        jobs=[fake_repair_job],
        sensors=[build_repair_sensor(auto_apply=auto_apply)],
    )


def tick(instance, defs, warehouse, cursor=None):
    sensor = defs.get_sensor_def("repair_sensor")
    ctx = dg.build_sensor_context(
        instance=instance, definitions=defs, resources={"warehouse": warehouse}, cursor=cursor
    )
    return sensor(ctx), ctx


def test_run_request_with_stable_run_key(warehouse, shared_instance):
    defs = fake_defs()
    first, ctx = tick(shared_instance, defs, warehouse)
    again, _ = tick(shared_instance, defs, warehouse)
    assert isinstance(first, dg.RunRequest)
    digest = hashlib.sha256(b"a1\na2\na3").hexdigest()[:32]
    assert first.run_key == again.run_key == f"repair:{digest}"
    assert first.run_config == {"ops": {"apply_repair_plan": {"config": {"dry_run": True}}}}
    assert first.tags["shoptok/dry_run"] == "true"
    assert first.tags["shoptok/pending_actions"] == "3"
    assert ctx.cursor == digest


def test_same_plan_is_not_handed_on_twice_new_drift_is(warehouse, shared_instance):
    defs = fake_defs()
    first, ctx = tick(shared_instance, defs, warehouse)
    same, _ = tick(shared_instance, defs, warehouse, cursor=ctx.cursor)
    assert isinstance(same, dg.SkipReason) and "already handed on" in same.skip_message
    write_plan(warehouse.warehouse_path, [*PLAN, ("a4", "restock_shopify")])
    new, _ = tick(shared_instance, defs, warehouse, cursor=ctx.cursor)
    assert isinstance(new, dg.RunRequest) and new.run_key != first.run_key


def test_actions_the_ledger_ended_are_not_pending(warehouse, shared_instance):
    defs = fake_defs()
    write_plan(warehouse.warehouse_path, PLAN, ledger={"a1": "applied", "a2": "failed"})
    req, _ = tick(shared_instance, defs, warehouse)
    assert req.tags["shoptok/pending_actions"] == "2"
    write_plan(warehouse.warehouse_path, PLAN, ledger={"a1": "applied", "a2": "skipped", "a3": "applied"})
    none, _ = tick(shared_instance, defs, warehouse)
    assert isinstance(none, dg.SkipReason) and "no pending" in none.skip_message


def test_skips_when_a_blocking_check_failed(warehouse):
    defs = fake_defs()
    with dg.instance_for_test() as instance:
        failed = dg.materialize([repair_actions, plan_check(False)], instance=instance, raise_on_error=False)
        assert not all(c.passed for c in failed.get_asset_check_evaluations())
        skipped, _ = tick(instance, defs, warehouse)
        assert isinstance(skipped, dg.SkipReason)
        assert "marts/repair_actions:plan_is_valid" in skipped.skip_message
        dg.materialize([repair_actions, plan_check(True)], instance=instance)
        unblocked, _ = tick(instance, defs, warehouse)
    assert isinstance(unblocked, dg.RunRequest)


def test_skips_while_a_run_is_in_progress(warehouse):
    defs = fake_defs()
    with dg.instance_for_test() as instance:
        instance.create_run_for_job(job_def=fake_repair_job, status=dg.DagsterRunStatus.STARTED)
        busy, _ = tick(instance, defs, warehouse)
    assert isinstance(busy, dg.SkipReason) and "in progress" in busy.skip_message


def test_auto_apply_allow_list(warehouse, shared_instance):
    req, _ = tick(shared_instance, fake_defs(frozenset({"set_tiktok_inventory"})), warehouse)
    assert req.run_config == {
        "ops": {"apply_repair_plan": {"config": {"dry_run": False, "allow": ["set_tiktok_inventory"]}}}
    }


def test_real_sensor_targets_the_writeback_job(repo, warehouse, shared_instance):
    sensor = repo.get_sensor_def("repair_sensor")
    job = repo.get_job("repair_job")
    ctx = dg.build_sensor_context(instance=shared_instance, repository_def=repo, resources={"warehouse": warehouse})
    req = sensor(ctx)
    assert isinstance(req, dg.RunRequest), req
    assert req.run_config["ops"]["apply_repair_plan"]["config"]["dry_run"] is True
    assert dg.validate_run_config(job, req.run_config)
    # the same function, without a repository-level sensor, for the no-plan case
    empty = warehouse.warehouse_path.with_name("empty.duckdb")
    duckdb.connect(str(empty)).close()
    other = WarehouseResource(path=str(empty), pipelines_dir=warehouse.pipelines_dir)
    ctx = dg.build_sensor_context(instance=shared_instance, repository_def=repo)
    skip = evaluate_repair(ctx, other, frozenset())
    assert isinstance(skip, dg.SkipReason) and "does not exist" in skip.skip_message
