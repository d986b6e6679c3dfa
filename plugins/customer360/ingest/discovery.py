"""Find a channel's landing files up to a date, and checksum them."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class IgnoredFile:
    """A file under the landing root that is not read, and why (it gets an 'ignored' manifest row)."""

    path: Path
    source_file: str
    load_date: date | None  # the date folder it lies in, if it lies in one
    reason: str


@dataclass
class Discovery:
    files: list[LandingFileRef] = field(default_factory=list)
    ignored: list[IgnoredFile] = field(default_factory=list)


def _hidden(path: Path) -> bool:
    return path.name.startswith((".", "_"))


class _Walk:
    """Lists files under the landing root without following a symbolic link out of it."""

    def __init__(self, landing_root: Path) -> None:
        self.root = landing_root
        self.real_root = landing_root.resolve()

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def outside(self, path: Path) -> bool:
        """True for a symbolic link (or a path through one) that leads out of the landing root."""
        try:
            return not path.resolve().is_relative_to(self.real_root)
        except (OSError, RuntimeError):  # a dangling or looping link
            return True

    def files(self, folder: Path, reason: str, load_date: date | None, out: list[IgnoredFile]) -> None:
        """Every file under ``folder`` as ignored with ``reason`` (links out of the root with their own)."""
        for path in sorted(folder.iterdir()):
            if path.is_symlink() and self.outside(path):
                out.append(IgnoredFile(path, self.relative(path), load_date, LINK_OUT_OF_ROOT))
            elif path.is_dir():
                self.files(path, reason, load_date, out)
            elif path.is_file():
                out.append(IgnoredFile(path, self.relative(path), load_date, reason))


LINK_OUT_OF_ROOT = "symbolic link to a place outside the landing root: not followed"


def discover_files(landing_root: Path, channel: Channel, as_of_date: date) -> Discovery:
    """Every ``<landing_root>/<channel>/<YYYY-MM-DD>/<file>`` with a date ≤ ``as_of_date``, oldest first,
    and every other file under ``<landing_root>/<channel>/`` as ignored, with the reason.

    Ignored: files in a folder that is not a calendar date (``20261110``, ``2026-11-10_retry``), files
    directly in the channel folder or in a subfolder of a date folder, names starting with ``.`` or ``_``
    (markers such as ``_SUCCESS``, partial uploads), files without the channel format's suffix, and
    symbolic links that lead out of the landing root (never opened). Folders dated after ``as_of_date``
    are not due yet: they are neither read nor listed.
    """
    walk = _Walk(landing_root)
    found = Discovery()
    channel_dir = landing_root / channel.name
    if channel_dir.is_symlink() and walk.outside(channel_dir):
        found.ignored.append(IgnoredFile(channel_dir, walk.relative(channel_dir), None, LINK_OUT_OF_ROOT))
        return found
    if not channel_dir.is_dir():
        log.warning("no landing folder %s for channel %s: nothing to ingest", channel_dir, channel.name)
        return found
    suffixes = FILE_SUFFIXES[channel.format]
    for day_dir in sorted(channel_dir.iterdir()):
        if day_dir.is_symlink() and walk.outside(day_dir):
            found.ignored.append(IgnoredFile(day_dir, walk.relative(day_dir), None, LINK_OUT_OF_ROOT))
            continue
        if day_dir.is_file():
            found.ignored.append(
                IgnoredFile(
                    day_dir,
                    walk.relative(day_dir),
                    None,
                    f"not in a date folder: files land in {channel.name}/<YYYY-MM-DD>/",
                )
            )
            continue
        if not day_dir.is_dir():
            continue
        load_date = _folder_date(day_dir.name)
        if _hidden(day_dir):
            walk.files(
                day_dir, f"in folder {day_dir.name!r}, whose name starts with . or _", None, found.ignored
            )
            continue
        if load_date is None:
            walk.files(
                day_dir,
                f"folder {day_dir.name!r} is not a date (YYYY-MM-DD, a calendar date)",
                None,
                found.ignored,
            )
            continue
        if load_date > as_of_date:
            continue
        for path in sorted(day_dir.iterdir()):
            source_file = walk.relative(path)
            if path.is_symlink() and walk.outside(path):
                found.ignored.append(IgnoredFile(path, source_file, load_date, LINK_OUT_OF_ROOT))
            elif path.is_dir():
                walk.files(path, "in a subfolder of a date folder (not read)", load_date, found.ignored)
            elif not path.is_file():
                continue
            elif _hidden(path):
                found.ignored.append(
                    IgnoredFile(
                        path, source_file, load_date, "name starts with . or _ (marker or partial upload)"
                    )
                )
            elif not path.name.lower().endswith(suffixes):
                found.ignored.append(
                    IgnoredFile(
                        path,
                        source_file,
                        load_date,
                        f"not a {channel.format} file of {channel.name} "
                        f"(suffix not one of {', '.join(suffixes)})",
                    )
                )
            else:
                found.files.append(LandingFileRef(path, source_file, load_date))
    return found


def discover_strays(landing_root: Path, channels: list[str]) -> list[IgnoredFile]:
    """Files under the landing root outside every channel folder (ignored, with the reason)."""
    walk = _Walk(landing_root)
    out: list[IgnoredFile] = []
    if not landing_root.is_dir():
        return out
    reason = f"not in a channel folder (one of: {', '.join(channels)})"
    for path in sorted(landing_root.iterdir()):
        if path.name in channels:
            continue
        if path.is_symlink() and walk.outside(path):
            out.append(IgnoredFile(path, walk.relative(path), None, LINK_OUT_OF_ROOT))
        elif path.is_dir():
            walk.files(path, reason, None, out)
        elif path.is_file():
            out.append(IgnoredFile(path, walk.relative(path), None, reason))
    return out


def _folder_date(name: str) -> date | None:
    if not _DATE_DIR.fullmatch(name):
        return None
    try:
        return date.fromisoformat(name)
    except ValueError:
        return None


def latest_landing_date(landing_root: Path, today: date) -> date | None:
    """The latest date folder of any channel that is not after ``today`` (links out of the root aside)."""
    walk = _Walk(landing_root)
    if not landing_root.is_dir():
        return None
    dates = [
        folder_date
        for channel_dir in landing_root.iterdir()
        if channel_dir.is_dir() and not _hidden(channel_dir) and not walk.outside(channel_dir)
        for day_dir in channel_dir.iterdir()
        if day_dir.is_dir()
        and (folder_date := _folder_date(day_dir.name)) is not None
        and folder_date <= today
        and not walk.outside(day_dir)
    ]
    return max(dates) if dates else None


def file_checksum(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size in bytes, streamed; permission and disk errors propagate."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while block := fh.read(CHECKSUM_BLOCK_BYTES):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size
