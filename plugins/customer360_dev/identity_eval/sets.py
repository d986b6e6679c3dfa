"""What every evaluation set hands to the evaluation: its landing files, its truth and its traps.

A set is a folder that serves as a ``CUSTOMER360_HOME``: ``landing/`` holds the landing files, ``truth/``
holds

* ``source_records.parquet``: ``source_channel, source_record_id, person_id`` (channels named as the
  landing contract names them; the record id is the one the pipeline keys the record by),
* ``trap_groups.parquet`` (optional): ``trap_class, group_id, person_id``: persons who share something
  (a phone, a role mailbox, a name) and must stay apart,
* ``trap_pairs.parquet`` (optional): ``trap_class, group_id, source_channel_l, source_record_id_l,
  source_channel_r, source_record_id_r, same_person``: every pair the generator labelled with a trap class,
* ``set.json``: the as-of date to run, counts and the ceiling recall when the generator knows it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

TRUTH_FILE = "source_records.parquet"
TRAP_GROUPS_FILE = "trap_groups.parquet"
TRAP_PAIRS_FILE = "trap_pairs.parquet"
SET_FILE = "set.json"

TRUTH_COLUMNS = ["source_channel", "source_record_id", "person_id"]
TRAP_GROUP_COLUMNS = ["trap_class", "group_id", "person_id"]
TRAP_PAIR_COLUMNS = [
    "trap_class",
    "group_id",
    "source_channel_l",
    "source_record_id_l",
    "source_channel_r",
    "source_record_id_r",
    "same_person",
]
# Trap classes whose groups must never end in one customer (reported as "merged" counts).
APART_CLASSES = ("household", "role_mailbox", "namesake")


@dataclass
class EvalSet:
    name: str
    home: Path
    as_of_date: date
    description: str
    persons: int = 0
    records: int = 0
    ceiling_recall: float | None = None
    # no ceiling of its own: computed from the records staged for identity (ceiling.staged_ceiling_recall)
    ceiling_from_staged_records: bool = False
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def landing_root(self) -> Path:
        return self.home / "landing"

    @property
    def truth_dir(self) -> Path:
        return self.home / "truth"

    @property
    def truth_path(self) -> Path:
        return self.truth_dir / TRUTH_FILE

    @property
    def trap_groups_path(self) -> Path:
        return self.truth_dir / TRAP_GROUPS_FILE

    @property
    def trap_pairs_path(self) -> Path:
        return self.truth_dir / TRAP_PAIRS_FILE

    def save(self) -> None:
        self.truth_dir.mkdir(parents=True, exist_ok=True)
        data = {**asdict(self), "home": str(self.home), "as_of_date": self.as_of_date.isoformat()}
        (self.truth_dir / SET_FILE).write_text(json.dumps(data, indent=2, default=str) + "\n")


def write_truth(
    eval_set: EvalSet,
    truth: pd.DataFrame,
    trap_groups: pd.DataFrame | None = None,
    trap_pairs: pd.DataFrame | None = None,
) -> None:
    """Write the truth files of ``eval_set`` (columns checked) and its ``set.json``."""
    eval_set.truth_dir.mkdir(parents=True, exist_ok=True)
    _checked(truth, TRUTH_COLUMNS, "truth").astype("string").to_parquet(eval_set.truth_path, index=False)
    if trap_groups is not None:
        _checked(trap_groups, TRAP_GROUP_COLUMNS, "trap groups").astype("string").to_parquet(
            eval_set.trap_groups_path, index=False
        )
    if trap_pairs is not None:
        pairs = _checked(trap_pairs, TRAP_PAIR_COLUMNS, "trap pairs")
        pairs = pairs.astype({c: "string" for c in TRAP_PAIR_COLUMNS if c != "same_person"})
        pairs.astype({"same_person": "bool"}).to_parquet(eval_set.trap_pairs_path, index=False)
    eval_set.records = len(truth)
    eval_set.persons = int(truth["person_id"].nunique())
    eval_set.save()


def _checked(frame: pd.DataFrame, columns: list[str], what: str) -> pd.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; expected {columns}")
    return frame[columns].reset_index(drop=True)
