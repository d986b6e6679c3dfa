"""Versions of the identity match model on disk, and training one from the warehouse.

``<settings.identity_model_dir>/identity-model-v0001.json`` ... one file per version: Splink's model JSON
(comparisons, m/u, prior, blocking rules), the term frequencies, and the project's metadata (version, training
window, record count, seed, created at). A version is never rewritten: training writes the next number.
Resolution uses ``settings.identity_model_version`` (0: the newest), unchanged from day to day, so the same
records get the same answer; a new version changes the identity rule-set hash and the next run is a full run
whose splits and merges name the change.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from customer360.identity.blocking import block_columns_sql
from customer360.identity.match_model import MatchModel, train_model
from customer360.settings import Settings

log = logging.getLogger(__name__)

FILE_PATTERN = re.compile(r"^identity-model-v(\d{4,})\.json$")


def model_dir(settings: Settings) -> Path:
    assert settings.identity_model_dir is not None
    return settings.identity_model_dir


def model_path(settings: Settings, version: int) -> Path:
    return model_dir(settings) / f"identity-model-v{version:04d}.json"


def versions(settings: Settings) -> list[int]:
    folder = model_dir(settings)
    if not folder.exists():
        return []
    found = (FILE_PATTERN.match(p.name) for p in folder.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def load_model(settings: Settings, version: int | None = None) -> MatchModel | None:
    """The model of ``version`` (default: ``settings.identity_model_version``, 0 = newest); None when no
    version exists yet. A pinned version that does not exist is an error."""
    wanted = settings.identity_model_version if version is None else version
    known = versions(settings)
    if wanted:
        if wanted not in known:
            raise FileNotFoundError(
                f"identity model version {wanted} not found in {model_dir(settings)} "
                f"(versions there: {known or 'none'}); train one with `customer360 identity train`"
            )
    elif not known:
        return None
    path = model_path(settings, wanted or known[-1])
    try:
        return MatchModel.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, KeyError) as exc:
        raise ValueError(
            f"identity model {path} is not a valid model file ({exc}); retrain or restore it"
        ) from exc


def save_model(settings: Settings, model: MatchModel) -> Path:
    path = model_path(settings, model.version)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        raise FileExistsError(f"identity model {path} exists: versions are never rewritten")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(model.as_dict(), indent=1, sort_keys=True, default=str), encoding="utf-8")
    tmp.replace(path)
    return path


def model_fingerprint(model: MatchModel) -> dict[str, object]:
    """What of the model decides a match, for the identity rule-set hash."""
    content = json.dumps({"splink": model.splink, "tf": model.term_frequencies}, sort_keys=True, default=str)
    return {"version": model.version, "sha256": hashlib.sha256(content.encode()).hexdigest()[:16]}


@dataclass
class TrainingRows:
    relation: str
    window_start: date | None
    window_end: date | None


def prepare_training_input(
    con: object, records: pa.Table, labels: object, settings: Settings, as_of_date: date | None
) -> TrainingRows:
    """``identity_training_input``: the named rows observed in the training window (the last
    ``identity_training_window_days`` up to ``as_of_date``), at most ``identity_training_max_records`` of them
    chosen by a hash of the record (the same rows for the same input), in the model's input layout."""
    import numpy as np

    table = records.append_column("idx", pa.array(np.arange(records.num_rows, dtype=np.int64)))
    table = table.append_column("det_label", pa.array(np.asarray(labels, dtype=np.int64)))
    con.register("identity_training_records", table)
    start = None
    end = as_of_date
    where = ["name_is_matchable"]
    if as_of_date is not None and settings.identity_training_window_days > 0:
        start = as_of_date - timedelta(days=settings.identity_training_window_days)
        where.append(f"(observed_at is null or observed_at::date between '{start}' and '{as_of_date}')")
    limit = int(settings.identity_training_max_records) or 2**62
    try:
        con.execute(
            f"""create or replace temp table identity_training_input as
            select * from ({block_columns_sql("identity_training_records", carry=("idx", "det_label"))})
            where idx in (
                select idx from identity_training_records where {" and ".join(where)}
                order by md5(record_key || '|' || coalesce(row_hash, '')), idx limit {limit}
            )
            order by idx"""
        )
    finally:
        con.unregister("identity_training_records")
    return TrainingRows("identity_training_input", start, end)


def train_and_save(
    con: object,
    records: pa.Table,
    labels: object,
    settings: Settings,
    as_of_date: date | None,
) -> tuple[MatchModel, Path]:
    """Train the next version on the records and save it."""
    rows = prepare_training_input(con, records, labels, settings, as_of_date)
    try:
        model = train_model(
            con,
            rows.relation,
            version=(versions(settings) or [0])[-1] + 1,
            seed=settings.identity_training_seed,
            max_pairs=settings.identity_training_max_pairs,
            training_window={
                "from": rows.window_start.isoformat() if rows.window_start else None,
                "to": rows.window_end.isoformat() if rows.window_end else None,
                "days": settings.identity_training_window_days,
            },
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
    finally:
        con.execute(f"drop table if exists {rows.relation}")
    path = save_model(settings, model)
    log.info(
        "identity: trained match model v%s on %s records -> %s", model.version, model.training_records, path
    )
    return model, path


def weight_changes(previous: MatchModel | None, current: MatchModel) -> list[dict[str, object]]:
    """Per comparison level: the weight in ``previous`` and ``current`` and the difference."""
    before = {(r["comparison"], r["level"]): r["weight"] for r in previous.weights()} if previous else {}
    rows = []
    for row in current.weights():
        old = before.get((row["comparison"], row["level"]))
        new = row["weight"]
        rows.append(
            {
                "comparison": row["comparison"],
                "level": row["level"],
                "previous_weight": old,
                "weight": new,
                "change": None if old is None or new is None else new - old,
            }
        )
    return rows


def train_from_warehouse(
    con: object,
    settings: Settings,
    as_of_date: date | None,
    blocklist: object | None = None,
    guards: tuple | None = None,
) -> tuple[MatchModel, Path]:
    """Read and normalise every input record, cluster them by the deterministic rules (pairs inside one
    cluster are not training pairs for the model, as they are never scored), train the next version, save."""
    from customer360.identity.resolution import prepare_every_record

    prepared = prepare_every_record(con, settings, blocklist, guards)
    return train_and_save(con, prepared.records, prepared.first.labels, settings, as_of_date)


def train_in_warehouse(
    settings: Settings, as_of_date: date
) -> tuple[MatchModel, Path, list[dict[str, object]]]:
    """``customer360 identity train`` and the monthly task: train the next version in the stage's warehouse;
    returns the model, its file, and its weights beside the previous version's."""
    from customer360.identity.records import INPUT_TABLE, check_input
    from customer360.warehouse import stage_connection

    previous = load_model(settings, version=0)
    with stage_connection(settings, pull=(INPUT_TABLE,), push=()) as con:
        con.execute("set enable_progress_bar = false")
        check_input(con)
        model, path = train_from_warehouse(con, settings, as_of_date)
    return model, path, weight_changes(previous, model)
