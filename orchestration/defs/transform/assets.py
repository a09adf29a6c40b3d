"""dbt models as assets ``[schema, model]`` (``["marts", "fct_order_reconciliation"]``), tests as checks.

One ``dbt build`` per run (dbt's fixed cost is ~2–3 s an invocation, so never one per model), with
``--vars {"as_of": …}`` from the ``clock`` resource and the warehouse from the ``warehouse``
resource. dbt finds the DuckDB file through its profile (``env_var('SHOPTOK_WAREHOUSE')``); rather
than changing this process's environment, each build gets a rendered copy of
``dbt_project/profiles.yml`` whose ``path`` is the resource's file, passed with ``--profiles-dir``.

Sources keep the ``meta.dagster.asset_key`` the dbt project gives them (``["raw_shopify",
"orders"]`` …), which are the keys of the ingest assets, so lineage runs raw → staging → marts.
dbt tests become asset checks (severity ``error`` → blocking); the models are not partitioned —
each is a view or a full-rebuild table, see docs/orchestration.md.
"""

import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.defs.resources import DUCKDB_WRITER_POOL, ClockResource, WarehouseResource
from orchestration.defs.transform.project import RUN_TARGET, dbt_project
from shoptok.transform import dbt_vars

_SCHEMA_KEYED = {"model", "seed", "snapshot"}


class ShoptokDbtTranslator(DagsterDbtTranslator):
    """Models and seeds keyed ``[schema, name]`` and grouped by schema; sources keep their meta key."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] in _SCHEMA_KEYED:
            return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] in _SCHEMA_KEYED:
            return dbt_resource_props["schema"]
        return super().get_group_name(dbt_resource_props)


TRANSLATOR = ShoptokDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def render_profiles(warehouse: Path, into: Path) -> Path:
    """A copy of the project's profiles.yml whose DuckDB ``path`` is ``warehouse``; returns its folder."""
    profiles = yaml.safe_load((dbt_project.profiles_dir / "profiles.yml").read_text())
    for profile in profiles.values():
        if not isinstance(profile, dict):
            continue
        for output in (profile.get("outputs") or {}).values():
            if output.get("type") == "duckdb":
                output["path"] = str(warehouse)
    into.mkdir(parents=True, exist_ok=True)
    (into / "profiles.yml").write_text(yaml.safe_dump(profiles, sort_keys=False))
    return into


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=TRANSLATOR,
    name="dbt_build",
    pool=DUCKDB_WRITER_POOL,
)
def dbt_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> Iterator[Any]:
    as_of = clock.now()
    context.log.info(f"dbt build as of {as_of.isoformat()} on {warehouse.warehouse_path}")
    with tempfile.TemporaryDirectory(prefix="shoptok-dbt-profile-") as tmp:
        profiles_dir = render_profiles(warehouse.warehouse_path, Path(tmp))
        invocation = dbt.cli(
            ["build", "--vars", dbt_vars(as_of), "--profiles-dir", str(profiles_dir)],
            context=context,
            target_path=RUN_TARGET,
        )
        yield from invocation.stream()
