"""Text encodings of landing files: detect them, then open the file as a UTF-8 text stream.

Exports arrive as UTF-8, UTF-8 with a byte-order mark, GB18030/GBK (Chinese Windows tools) or latin-1 /
cp1252 (older European tools). DuckDB and pyarrow read UTF-8 only, so the readers decode in Python,
streaming, with ``errors="strict"``: a byte that does not decode is an error, never a silent ``�``.

Detection (``encoding: auto`` in ``config/channels.yml``, the default):

1. a byte-order mark decides (UTF-8, UTF-16, UTF-32);
2. a NUL byte in the first block means the file is binary, not text: it cannot be read;
3. the whole file is checked as strict UTF-8, streamed in blocks (cheap next to parsing it); if it
   decodes, it is UTF-8;
4. otherwise the configured fallback encodings are tried, in order, on the text around the first byte
   that is not UTF-8. GB18030 decodes almost any byte pair, so it is only accepted when the decoded
   characters look like Chinese text (both bytes in the GB2312 range, as common hanzi are); latin-1
   accepts every byte, so it belongs last.

A configured encoding (``encoding: gb18030``) skips detection; a UTF-8 byte-order mark still wins.
"""

from __future__ import annotations

import codecs
import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

AUTO = "auto"
DEFAULT_FALLBACK_ENCODINGS: tuple[str, ...] = ("gb18030", "cp1252", "latin-1")
# Block size for the streamed UTF-8 check and for reading.
SCAN_BLOCK_BYTES = 1 << 20
# Bytes of text around the first non-UTF-8 byte that the fallback encodings are tried on.
SAMPLE_BYTES = 64 * 1024
# Share of non-ASCII characters that must look like common hanzi for GB18030 to be accepted.
GB_PLAUSIBLE_SHARE = 0.9

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_GB_FAMILY = {"gb18030", "gbk", "gb2312"}


class EncodingError(Exception):
    """The file's bytes cannot be decoded as text (binary data, or no candidate encoding fits)."""


@dataclass(frozen=True)
class EncodingChoice:
    """The codec a file is opened with, and why."""

    encoding: str
    detected: bool
    reason: str


def canonical_codec(name: str) -> str:
    """The Python codec name for ``name``; raises ``ValueError`` naming the unknown encoding."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ValueError(
            f"unknown text encoding {name!r} (use a Python codec name such as utf-8, gb18030)"
        ) from None


def open_binary(path: Path) -> BinaryIO:
    """Open a landing file for reading bytes; ``.gz`` files are decompressed on the fly."""
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def open_text(path: Path, encoding: str) -> TextIO:
    """Open a landing file as text, strictly decoded, line endings untranslated (as ``csv`` wants)."""
    return io.TextIOWrapper(open_binary(path), encoding=encoding, errors="strict", newline="")


def _bom_encoding(head: bytes) -> str | None:
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return None


def _is_utf8_family(codec: str) -> bool:
    return codec in ("utf-8", "utf-8-sig")


def _looks_like_gb_text(text: str) -> bool:
    """True when the non-ASCII characters of ``text`` are mostly two-byte GB2312 hanzi and punctuation."""
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if not wide:
        return False
    common = 0
    for ch in wide:
        encoded = ch.encode("gb18030")
        if len(encoded) == 2 and encoded[0] >= 0xA1 and encoded[1] >= 0xA1:
            common += 1
    return common / len(wide) >= GB_PLAUSIBLE_SHARE


def _fits(sample: bytes, codec: str) -> bool:
    decoder = codecs.getincrementaldecoder(codec)("strict")
    try:
        text = decoder.decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    if codecs.lookup(codec).name in _GB_FAMILY:
        return _looks_like_gb_text(text)
    return True


def _scan_utf8(fh: BinaryIO) -> tuple[int | None, bytes]:
    """Stream the file through a strict UTF-8 decoder: (offset of the first bad byte or None, sample)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
    previous = b""
    while block := fh.read(SCAN_BLOCK_BYTES):
        try:
            decoder.decode(block)
        except UnicodeDecodeError as exc:
            bad = offset + exc.start
            window = previous + block
            local = bad - (offset - len(previous))
            start = max(0, local - SAMPLE_BYTES // 2)
            if start > 0:  # begin the sample on a line start so multibyte characters are not cut
                newline = window.find(b"\n", start, local)
                start = newline + 1 if newline >= 0 else local
            return bad, window[start : start + SAMPLE_BYTES]
        offset += len(block)
        previous = block[-SAMPLE_BYTES:]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return offset, previous
    return None, b""


def detect_encoding(
    path: Path, configured: str = AUTO, fallbacks: tuple[str, ...] = DEFAULT_FALLBACK_ENCODINGS
) -> EncodingChoice:
    """Choose the codec to open ``path`` with (see the module docstring for the rules).

    Raises ``EncodingError`` for binary files and when no candidate fits; ``OSError`` (permissions, disk)
    is not caught.
    """
    with open_binary(path) as fh:
        try:
            head = fh.read(SCAN_BLOCK_BYTES)
        except (EOFError, gzip.BadGzipFile) as exc:
            raise EncodingError(f"cannot decompress: {exc}") from exc
        bom = _bom_encoding(head)
        if bom is not None:
            return EncodingChoice(bom, detected=True, reason=f"byte-order mark ({bom})")
        wide_codec = configured != AUTO and canonical_codec(configured).startswith(("utf-16", "utf-32"))
        nul = head.find(b"\x00")
        if nul >= 0 and not wide_codec:
            raise EncodingError(
                f"the file looks binary, not text (NUL byte at offset {nul}); check that the export wrote a "
                "text file of the channel's format"
            )
        if configured != AUTO:
            codec = canonical_codec(configured)
            codec = "utf-8-sig" if _is_utf8_family(codec) else codec
            return EncodingChoice(codec, detected=False, reason="configured in channels.yml")
        fh.seek(0)
        try:
            bad_offset, sample = _scan_utf8(fh)
        except (EOFError, gzip.BadGzipFile) as exc:
            raise EncodingError(f"cannot decompress: {exc}") from exc
    if bad_offset is None:
        return EncodingChoice("utf-8-sig", detected=True, reason="valid UTF-8")
    for candidate in fallbacks:
        codec = canonical_codec(candidate)
        if _fits(sample, codec):
            return EncodingChoice(
                codec,
                detected=True,
                reason=f"not UTF-8 (byte offset {bad_offset}); {codec} fits the text there",
            )
    tried = ", ".join(fallbacks) or "no fallback encodings"
    raise EncodingError(
        f"not UTF-8 (first invalid byte at offset {bad_offset}) and none of the fallback encodings fits "
        f"({tried}); set `encoding:` for this channel in channels.yml"
    )
