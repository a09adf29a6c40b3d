"""Great Expectations suites as asset checks: one ``@dg.asset_check`` per ``expectations.checks.CHECKS`` spec.

The GX side (``expectations/``) owns the suites and ``run_check(spec, warehouse, as_of, *,
docs_dir, history_path) -> CheckOutcome(passed, blocking, metadata)``; this module only maps a
spec to a check on ``dg.AssetKey(spec.asset_key)`` — blocking specs fail with severity ERROR and
stop downstream assets in the same run (and the repair sensor), the others warn.

Checks read the warehouse, and a read-only DuckDB connection blocks writers, so they run in the
``duckdb_writer`` pool like every writer. Until ``expectations.checks`` exists no check is
defined (a warning says so); an ImportError from inside that module is raised, not hidden.
"""

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import dagster as dg

from orchestration.defs.resources import DUCKDB_WRITER_POOL, ClockResource, WarehouseResource

log = logging.getLogger(__name__)

GX_MODULE = "expectations.checks"
RunCheck = Callable[..., Any]


def load_gx() -> tuple[list[Any], RunCheck | None]:
    """``(CHECKS, run_check)`` from the GX module, or ``([], None)`` while it does not exist yet."""
    try:
        from expectations.checks import CHECKS, run_check
    except ModuleNotFoundError as exc:
        if exc.name in ("expectations", GX_MODULE):
            return [], None
        raise
    return list(CHECKS), run_check


def _metadata_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str | dg.MetadataValue):
        return value
    if isinstance(value, Mapping | list | tuple):
        return dg.MetadataValue.json(json.loads(json.dumps(value, default=str)))
    return str(value)


def to_metadata(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """GX outcome metadata made storable (numbers/strings as is, nested values as JSON, the rest str)."""
    out: dict[str, Any] = {}
    for key, value in (raw or {}).items():
        v = _metadata_value(value)
        if v is not None:
            out[str(key)] = v
    return out


def build_gx_check(spec: Any, run_check: RunCheck) -> dg.AssetChecksDefinition:
    blocking = bool(spec.blocking)
    severity = dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN

    @dg.asset_check(
        asset=dg.AssetKey(list(spec.asset_key)),
        name=spec.name,
        blocking=blocking,
        description=getattr(spec, "description", None),
        pool=DUCKDB_WRITER_POOL,
        metadata={"gx/table": str(getattr(spec, "table", "")), "gx/blocking": blocking},
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, clock: ClockResource):
        # docs_dir / history_path: the GX module's defaults, shared with `shoptok quality` (Data Docs
        # site and the per-warehouse row-count history under expectations/uncommitted/)
        outcome = run_check(spec, warehouse.warehouse_path, clock.now())
        return dg.AssetCheckResult(
            passed=bool(outcome.passed), severity=severity, metadata=to_metadata(outcome.metadata)
        )

    return _check


def build_gx_checks(specs: Iterable[Any], run_check: RunCheck) -> list[dg.AssetChecksDefinition]:
    return [build_gx_check(spec, run_check) for spec in specs]


@dg.definitions
def gx_checks() -> dg.Definitions:
    specs, run_check = load_gx()
    if run_check is None:
        log.warning("%s is not there yet: no Great Expectations asset checks are defined", GX_MODULE)
        return dg.Definitions()
    return dg.Definitions(asset_checks=build_gx_checks(specs, run_check))
