"""Text encodings of landing files: detect them, then open the file as a UTF-8 text stream.

Exports arrive as UTF-8, UTF-8 with a byte-order mark, GB18030/GBK (Chinese Windows tools) or latin-1 /
cp1252 (older European tools). DuckDB and pyarrow read UTF-8 only, so the readers decode in Python,
streaming, with ``errors="strict"``: a byte that does not decode is an error, never a silent ``�``.

Detection (``encoding: auto`` in ``config/channels.yml``, the default):

1. a byte-order mark decides (UTF-8, UTF-16, UTF-32);
2. a first block in which more than ``BINARY_NUL_SHARE`` of the bytes (and at least ``BINARY_NUL_BYTES``)
   are NUL is binary, not text (a Parquet or ZIP file under a text suffix, UTF-16 without a byte-order
   mark): the file is refused. A few NUL bytes in a text file do not refuse it, wherever they are: the
   reader quarantines each record that holds one (``readers.py``);
3. the whole file is checked as strict UTF-8, streamed in blocks; if it decodes, it is UTF-8;
4. otherwise every candidate of ``fallback_encodings`` decodes the text around the first byte that is not
   UTF-8 and charset-normalizer scores the decoding of the words that hold such bytes (its "mess" ratio:
   unlikely sequences of scripts, symbols and accents). The best is taken when it is clean (mess at most
   ``MAX_MESS``) and no other candidate that reads the bytes as different text scores within
   ``AMBIGUOUS_MARGIN`` of it; otherwise the file is refused with the scores, asking for ``encoding:`` in
   channels.yml. Nothing falls back to latin-1 because it accepts every byte: latin-1 wins only when its
   decoding scores best.

A configured encoding (``encoding: gb18030``) skips detection; a UTF-8 byte-order mark still wins.
"""

from __future__ import annotations

import codecs
import gzip
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

AUTO = "auto"
DEFAULT_FALLBACK_ENCODINGS: tuple[str, ...] = ("gb18030", "cp1252", "latin-1")
# Block size for the streamed UTF-8 check and for reading.
SCAN_BLOCK_BYTES = 1 << 20
# Bytes of text around the first non-UTF-8 byte that the fallback encodings are tried on.
SAMPLE_BYTES = 64 * 1024
# A first block with more NUL bytes than this share (and at least ``BINARY_NUL_BYTES``) is binary.
BINARY_NUL_SHARE = 0.01
BINARY_NUL_BYTES = 16
# Share of non-ASCII characters of a GB18030 decoding that must be common hanzi or letters.
GB_PLAUSIBLE_SHARE = 0.9
# charset-normalizer's mess ratio (0 clean .. 1 noise) above which a decoding is not accepted.
MAX_MESS = 0.2
# Two candidates reading the bytes as different text whose mess ratios are closer than this: ambiguous.
AMBIGUOUS_MARGIN = 0.05

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


def _trim_to_lines(sample: bytes) -> bytes:
    """Cut a sample after its last newline, so no multibyte character is cut at its end (unless that
    would leave only ASCII: the sample is there for its bytes that are not UTF-8)."""
    end = sample.rfind(b"\n")
    trimmed = sample[: end + 1]
    return sample if end < 0 or trimmed.isascii() else trimmed


def _plausible_gb_text(text: str) -> bool:
    """GB18030 decodes almost any byte pair, often into rare hanzi that charset-normalizer finds clean.

    Accept a GB decoding only when its non-ASCII characters are mostly common hanzi and punctuation (both
    bytes in the GB2312 range) or letters of other scripts (Müller, Köln: four bytes in GB18030).
    """
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if not wide:
        return True
    plausible = 0
    for ch in wide:
        encoded = ch.encode("gb18030")
        if (len(encoded) == 2 and encoded[0] >= 0xA1 and encoded[1] >= 0xA1) or (
            len(encoded) == 4 and ch.isalpha()
        ):
            plausible += 1
    return plausible / len(wide) >= GB_PLAUSIBLE_SHARE


# Bytes that separate words and are never part of a multibyte character of the candidates (GBK trail
# bytes start at 0x40, GB18030's four-byte digits are 0x30-0x39): whitespace, quotes, , ; :
_SEPARATORS = re.compile(rb"[\x00-\x20\x22\x27\x2c\x3a\x3b]+")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")


def _foreign_words(sample: bytes) -> bytes:
    """The words of ``sample`` that hold a byte above 0x7F, one per line-less run: what the scorer must
    judge (a few foreign words in a long ASCII record would be diluted below any mess threshold)."""
    return b" ".join(word for word in _SEPARATORS.split(sample) if _HIGH_BYTE.search(word)) + b"\n"


def _score_candidates(sample: bytes, candidates: tuple[str, ...]) -> list[tuple[str, float, str]]:
    """(codec, mess ratio, decoded words) for every candidate that decodes ``sample``, best first."""
    from charset_normalizer import from_bytes

    codecs_by_name = {canonical_codec(c): c for c in candidates}
    scored: dict[str, tuple[float, str]] = {}
    words = _foreign_words(sample)
    matches = from_bytes(words, cp_isolation=list(codecs_by_name), threshold=1.0, preemptive_behaviour=False)
    for match in matches:
        codec = canonical_codec(match.encoding)
        if codec not in codecs_by_name or codec in scored:
            continue
        try:  # charset-normalizer may skip a byte it cannot decode; the file is decoded strictly
            sample.decode(codec)
            text = words.decode(codec)
        except UnicodeDecodeError:
            continue
        if codec in _GB_FAMILY and not _plausible_gb_text(text):
            continue
        scored[codec] = (float(match.chaos), text)
    return sorted(((c, m, t) for c, (m, t) in scored.items()), key=lambda item: item[1])


def _choose(sample: bytes, bad_offset: int, candidates: tuple[str, ...]) -> EncodingChoice:
    scored = _score_candidates(_trim_to_lines(sample), candidates)
    ask = "set `encoding:` for this channel in config/channels.yml"
    shown = (
        ", ".join(f"{codec} {mess:.2f}" for codec, mess, _ in scored)
        or "no candidate reads the bytes as text"
    )
    if not scored or scored[0][1] > MAX_MESS:
        tried = ", ".join(candidates) or "no fallback encodings"
        raise EncodingError(
            f"not UTF-8 (first invalid byte at offset {bad_offset}) and no candidate encoding reads it as "
            f"clean text (tried {tried}; mess ratio: {shown}; at most {MAX_MESS} accepted); {ask}"
        )
    codec, mess, text = scored[0]
    rivals = [c for c, m, t in scored[1:] if t != text and m - mess < AMBIGUOUS_MARGIN]
    if rivals:
        raise EncodingError(
            f"not UTF-8 (first invalid byte at offset {bad_offset}) and the encoding is ambiguous: "
            f"{codec} and {', '.join(rivals)} read the bytes as different text with similar scores "
            f"(mess ratio {shown}); {ask}"
        )
    return EncodingChoice(
        codec,
        detected=True,
        reason=f"not UTF-8 (byte offset {bad_offset}); {codec} scored best (mess ratio {shown})",
    )


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
        nuls = head.count(b"\x00")
        if nuls >= max(BINARY_NUL_BYTES, BINARY_NUL_SHARE * len(head)) and not wide_codec:
            raise EncodingError(
                f"the file looks binary, not text ({nuls} NUL bytes in its first {len(head)} bytes); check "
                "that the export wrote a text file of the channel's format"
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
    return _choose(sample, bad_offset, fallbacks)
