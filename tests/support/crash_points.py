"""Seeded crash points for the crash matrix: reproducible from the seed printed in each test id.

A point is drawn from its own seed, as a *fraction* of a stage's length (the n-th HTTP request,
dlt step, dbt node, GX suite or writeback call, or a delay after the start), so the ids are
known at collection time; the test resolves the fraction against what a clean run of the same
merchant counted. ``SHOPTOK_CRASH_SEED`` changes the base seed; ``SHOPTOK_FULL_MATRIX=1`` runs the
full set instead of the CI subset. Rerun one point with `pytest -k seed<N>`.
"""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass
from typing import Any

BASE_SEED = int(os.environ.get("SHOPTOK_CRASH_SEED", "20261127"))
FULL = os.environ.get("SHOPTOK_FULL_MATRIX", "") not in ("", "0")

#: points per stage: (CI subset, full matrix)
SIZES = {"extract": (6, 35), "dbt": (4, 25), "gx": (2, 10), "repair": (8, 30)}

_KINDS: dict[str, list[tuple[str, float]]] = {
    "extract": [
        ("http", 3),
        ("dlt.page", 2),
        ("dlt.normalize", 1),
        ("dlt.load_committed", 1),
        ("dlt.load_complete", 1),
        ("delay", 2),
    ],
    "dbt": [("node.fresh", 1), ("node.rebuild", 1)],
    "gx": [("suite", 5), ("docs", 1)],
    "repair": [("call.before", 1), ("call.after", 3), ("ledger", 1)],
}


@dataclass(frozen=True)
class CrashPoint:
    stage: str
    seed: int
    kind: str
    frac: float

    @property
    def id(self) -> str:
        where = "" if self.kind == "docs" else f"-at{self.frac:.3f}"
        return f"{self.stage}-seed{self.seed}-{self.kind}{where}"

    def nth(self, total: int) -> int:
        """The 1-based occurrence this point stands for among ``total`` in a clean run."""
        if total < 1:
            raise ValueError(f"{self.id}: a clean run had no {self.kind} to crash at")
        return min(total, max(1, math.ceil(self.frac * total)))

    def child_point(self, counts: dict[str, int]) -> dict[str, Any] | None:
        """The point as ``tests.support.crash_runner`` takes it (None for a delay, which the parent does)."""
        if self.kind == "delay":
            return None
        if self.kind.startswith("dlt."):
            step = self.kind.split(".", 1)[1]
            return {"kind": "dlt", "step": step, "n": self.nth(counts.get(self.kind, 0))}
        if self.kind.startswith("call."):
            phase = self.kind.split(".", 1)[1]
            return {"kind": "call", "phase": phase, "n": self.nth(counts.get(self.kind, 0))}
        if self.kind == "docs":
            return {"kind": "docs"}
        return {"kind": self.kind, "n": self.nth(counts.get(self.kind, 0))}


def points(stage: str, full: bool = FULL, base_seed: int = BASE_SEED) -> list[CrashPoint]:
    """The stage's seeded points: the CI subset is the first ``SIZES[stage][0]`` of the full list."""
    ci, everything = SIZES[stage]
    master = random.Random(f"{base_seed}:{stage}")
    out = []
    kinds, weights = zip(*_KINDS[stage], strict=True)
    for i in range(everything if full else ci):
        seed = master.randrange(10**6)
        rng = random.Random(seed)
        # every kind at least once, even in the CI subset; then weighted draws
        kind = kinds[i] if i < len(kinds) else rng.choices(kinds, weights)[0]
        # not at 0: a kill before the stage did anything proves nothing
        out.append(CrashPoint(stage, seed, kind, round(rng.uniform(0.02, 1.0), 3)))
    return out
