"""A match model trained once on generated records, for the identity tests (identity.model_store)."""

from __future__ import annotations

import shutil
from pathlib import Path

from customer360.identity.model_store import model_path, train_from_warehouse
from customer360.settings import Settings
from customer360.warehouse import connect
from customer360_dev.identity_synthetic import synthetic_records, write_input_table


def train_model_file(settings: Settings, persons: int = 1500, seed: int = 11) -> Path:
    """Train version 1 on ``persons`` generated persons in ``settings``' warehouse; returns the model file."""
    records, _ = synthetic_records(persons, seed=seed)
    with connect(settings) as con:
        write_input_table(con, records)
        model, path = train_from_warehouse(con, settings, None)
    assert model.version == 1 and model.extra.get("trained")
    return path


def install_model(settings: Settings, model_file: Path) -> Path:
    """Copy a trained model file in as version 1 of ``settings``' model folder."""
    target = model_path(settings, 1)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_file, target)
    return target
