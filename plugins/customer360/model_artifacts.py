"""Versioned model artefacts: when a model is refitted, where it is kept, and what it records.

A model (churn, CLV) is not refitted every day. Refit dates fall on a fixed calendar: every
``Settings.model_refit_days`` days counted from ``REFIT_EPOCH`` (a Monday, so the weekly default refits on
Mondays). The model a run for date D uses is the one of D's refit date R (the latest refit date <= D), fitted
on data up to R only (the training window ends at R). A run computes the fingerprint of R's training data
and looks for the artefact of (R, fingerprint) under ``Settings.model_dir``: when it exists (and was written
by the same model specification) the run reuses it unchanged ('reused'); otherwise it fits R's model and
saves it ('fitted'). R and the data up to R decide the model, so the same data and date give the same model
whatever ran before: a single run, a day-by-day backfill, or a rerun after the artefacts were deleted. Data
of the window that arrive late (a late file, a merge of two customers) change the fingerprint, and the next
run refits on them instead of keeping a model the current data would not give.

Each artefact is a JSON file ``<model_dir>/<model>/<R>+<fingerprint[:12]>.json`` (version, training window,
data fingerprint, seed, metrics, parameters), plus, for models that are not plain parameters, a pickle next
to it that only the pipeline writes (a scikit-learn estimator; loaded only when the JSON's specification and
library versions match). Files are written to a temporary name and renamed, so a killed run never leaves half
an artefact.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from customer360.settings import Settings

# Refit dates are REFIT_EPOCH + k * model_refit_days (a Monday: weekly refits fall on Mondays).
REFIT_EPOCH = date(2024, 1, 1)

# Statuses of one model in one run (the ``analytics.model_runs`` table).
STATUS_FITTED = "fitted"  # fitted in this run on the refit date's window, artefact saved
STATUS_REUSED = "reused"  # the refit date's artefact existed and was used unchanged
STATUS_FAILED = "failed"  # the model raised; its columns are null in the marts, the reason says why
STATUS_SKIPPED = "skipped"  # not enough data to fit; its columns come from the documented fallback or null
STATUSES = (STATUS_FITTED, STATUS_REUSED, STATUS_FAILED, STATUS_SKIPPED)


def refit_date(as_of_date: date, refit_days: int) -> date:
    """The latest refit date on or before ``as_of_date`` (module docstring)."""
    if refit_days < 1:
        raise ValueError(f"the refit interval must be at least one day, not {refit_days}")
    return as_of_date - timedelta(days=(as_of_date - REFIT_EPOCH).days % refit_days)


def data_fingerprint(frame: pd.DataFrame) -> str:
    """SHA-256 of a training table's content, independent of row order and of the index.

    Rows are hashed one by one (pandas' stable row hash) and the sorted row hashes are hashed together, so
    the same rows in another order (another run history numbers customers differently) give the same print.
    Leave identifier columns out of ``frame`` for that to hold."""
    import numpy as np
    import pandas as pd

    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
    digest = hashlib.sha256(np.sort(rows).tobytes())
    digest.update(",".join(map(str, frame.columns)).encode())
    return digest.hexdigest()


@dataclass
class Artefact:
    """What a fitted model records about itself (the JSON file)."""

    model: str
    spec: str  # the model specification (features, hyper-parameters); a change makes old artefacts stale
    refit_date: date
    training_window_start: date | None
    training_window_end: date
    data_fingerprint: str
    seed: int | None
    metrics: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    status: str = STATUS_FITTED  # fitted, or skipped when the window had too little data (reason says why)
    reason: str = ""
    fitted_by_run: str = ""
    libraries: dict[str, str] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return f"{self.model}@{self.refit_date.isoformat()}+{self.data_fingerprint[:12]}"

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("refit_date", "training_window_start", "training_window_end"):
            data[key] = data[key].isoformat() if data[key] is not None else None
        data["version"] = self.version
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Artefact:
        values = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        for key in ("refit_date", "training_window_start", "training_window_end"):
            values[key] = date.fromisoformat(values[key]) if values.get(key) else None
        return cls(**values)


def artefact_path(settings: Settings, model: str, refit: date, fingerprint: str) -> Path:
    return Path(settings.model_dir) / model / f"{refit.isoformat()}+{fingerprint[:12]}.json"


def _write_atomically(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(payload)
    os.replace(temporary, path)


def json_safe(value: Any) -> Any:
    import math

    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return json_safe(value.item())
    return value


def save(settings: Settings, artefact: Artefact, estimator: Any | None = None) -> Path:
    """Write the artefact (and its estimator, pickled) for its refit date; returns the JSON's path."""
    path = artefact_path(settings, artefact.model, artefact.refit_date, artefact.data_fingerprint)
    if estimator is not None:
        _write_atomically(path.with_suffix(".pkl"), pickle.dumps(estimator, protocol=pickle.HIGHEST_PROTOCOL))
    body = json.dumps(json_safe(artefact.as_json()), indent=2, sort_keys=True, allow_nan=False)
    _write_atomically(path, body.encode("utf-8"))
    return path


def load(
    settings: Settings,
    model: str,
    refit: date,
    fingerprint: str,
    spec: str,
    libraries: dict[str, str] | None = None,
) -> tuple[Artefact, Any | None] | None:
    """The artefact of the refit date and training data ``fingerprint`` and its estimator (None without a
    pickle), or None when there is none or it is stale: written by another model specification or, for a
    pickled estimator, other library versions."""
    path = artefact_path(settings, model, refit, fingerprint)
    if not path.is_file():
        return None
    try:
        artefact = Artefact.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError):
        return None  # unreadable (hand-edited, older layout): refit and overwrite it
    if (
        artefact.spec != spec
        or artefact.data_fingerprint != fingerprint
        or (libraries is not None and artefact.libraries != libraries)
    ):
        return None
    pickled = path.with_suffix(".pkl")
    if not pickled.is_file():
        return artefact, None
    # The pickle was written by this pipeline into its own model folder (never downloaded or shared).
    return artefact, pickle.loads(pickled.read_bytes())  # noqa: S301
