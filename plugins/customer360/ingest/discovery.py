"""Find a channel's landing files up to a date, and checksum them."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from customer360.landing.contract import FILE_SUFFIXES, Channel

log = logging.getLogger(__name__)

_DATE_DIR = re.compile(r"\d{4}-\d{2}-\d{2}")
CHECKSUM_BLOCK_BYTES = 1 << 20


@dataclass(frozen=True)
class LandingFileRef:
    path: Path
    source_file: str  # relative to the landing root, with forward slashes
    load_date: date


def _hidden(path: Path) -> bool:
    return path.name.startswith((".", "_"))


def discover_files(landing_root: Path, channel: Channel, as_of_date: date) -> list[LandingFileRef]:
    """Every ``<landing_root>/<channel>/<YYYY-MM-DD>/<file>`` with a date ≤ ``as_of_date``, oldest first.

    Folders that are not dates, names starting with ``.`` or ``_`` (markers such as ``_SUCCESS``, partial
    uploads) and files without the channel format's suffix are skipped.
    """
    channel_dir = landing_root / channel.name
    if not channel_dir.is_dir():
        log.warning("no landing folder %s for channel %s: nothing to ingest", channel_dir, channel.name)
        return []
    suffixes = FILE_SUFFIXES[channel.format]
    found: list[LandingFileRef] = []
    for day_dir in sorted(channel_dir.iterdir()):
        if _hidden(day_dir) or not day_dir.is_dir() or not _DATE_DIR.fullmatch(day_dir.name):
            continue
        try:
            load_date = date.fromisoformat(day_dir.name)
        except ValueError:
            log.warning("skipping %s: %r is not a calendar date", day_dir, day_dir.name)
            continue
        if load_date > as_of_date:
            continue
        for path in sorted(day_dir.iterdir()):
            if _hidden(path) or not path.is_file():
                continue
            if not path.name.lower().endswith(suffixes):
                log.info("skipping %s: not a %s file (%s)", path, channel.format, ", ".join(suffixes))
                continue
            found.append(LandingFileRef(path, path.relative_to(landing_root).as_posix(), load_date))
    return found


def file_checksum(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size in bytes, streamed; permission and disk errors propagate."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while block := fh.read(CHECKSUM_BLOCK_BYTES):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size
