"""The project's own generator as an evaluation set, run through its command (``customer360 generate``).

The command is called as a user calls it, so the set follows the generator wherever it lives. Its truth
(``source_records.parquet``) is the evaluation's truth as it is; persons who share a household in
``persons.parquet`` (``household_id``) become ``household`` trap groups.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd

from customer360_dev.identity_eval.sets import TRUTH_FILE, EvalSet, write_truth

DEFAULT_CUSTOMERS = 1500
DEFAULT_DAYS = 60
DEFAULT_SEED = 42
PERSONS_FILE = "persons.parquet"


def build_generator_set(
    home: Path,
    as_of: date,
    customers: int = DEFAULT_CUSTOMERS,
    days: int = DEFAULT_DAYS,
    seed: int = DEFAULT_SEED,
) -> EvalSet:
    eval_set = EvalSet(
        name="generator",
        home=home,
        as_of_date=as_of,
        description=f"customer360 generate ({customers:,} customers, {days} days, seed {seed})",
        notes={"customers": customers, "days": days, "seed": seed},
        ceiling_from_staged_records=True,
    )
    command = [
        sys.executable,
        "-m",
        "customer360.cli",
        "generate",
        "--customers",
        str(customers),
        "--days",
        str(days),
        "--seed",
        str(seed),
        "--end-date",
        as_of.isoformat(),
        "--out",
        str(eval_set.landing_root),
        "--truth",
        str(eval_set.truth_dir),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(command)}` failed:\n{done.stderr.strip()[-2000:]}")
    truth = pd.read_parquet(eval_set.truth_dir / TRUTH_FILE)
    write_truth(eval_set, truth, _households(eval_set.truth_dir / PERSONS_FILE))
    return eval_set


def _households(persons_path: Path) -> pd.DataFrame | None:
    if not persons_path.exists():
        return None
    persons = pd.read_parquet(persons_path)
    if "household_id" not in persons.columns:
        return None
    members = persons.dropna(subset=["household_id"])
    members = members[members.groupby("household_id")["person_id"].transform("size") > 1]
    return pd.DataFrame(
        {"trap_class": "household", "group_id": members["household_id"], "person_id": members["person_id"]}
    )
