"""Blocklists: contact values that may be stored but must never link two records.

The lists live in ``blocklist.yml`` beside this module (role mailboxes such as ``info@`` or ``noreply@``,
example domains, placeholder phone numbers, placeholder names). A different file can be passed for a test or
a site-specific list. The blocklist's fingerprint is part of the identity rule-set hash, so editing it is
a rule
change that the next resolution run records.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

DEFAULT_BLOCKLIST_PATH = Path(__file__).with_name("blocklist.yml")

_LIST_KEYS = (
    "role_email_local_parts",
    "blocked_email_domains",
    "placeholder_phone_digits",
    "placeholder_names",
)


@dataclass(frozen=True)
class Blocklist:
    role_email_local_parts: frozenset[str]
    blocked_email_domains: frozenset[str]
    placeholder_phone_digits: frozenset[str]
    placeholder_names: frozenset[str]

    def fingerprint(self) -> str:
        """A stable hash of the lists' content (order and duplicates do not matter)."""
        canonical = {key: sorted(getattr(self, key)) for key in _LIST_KEYS}
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()[:16]

    def with_additions(self, **extra: list[str]) -> Blocklist:
        """A copy with more values in the named lists, e.g.
        ``with_additions(role_email_local_parts=["x"])``."""
        changes = {
            key: getattr(self, key) | frozenset(v.strip().lower() for v in values)
            for key, values in extra.items()
        }
        return Blocklist(**{key: changes.get(key, getattr(self, key)) for key in _LIST_KEYS})


def load_blocklist(path: Path | None = None) -> Blocklist:
    """Read a blocklist YAML file (default: the one shipped with the package)."""
    import yaml

    source = path or DEFAULT_BLOCKLIST_PATH
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise FileNotFoundError(
            f"identity blocklist {source} not found: restore it or pass an existing file"
        ) from None
    except yaml.YAMLError as exc:
        raise ValueError(f"identity blocklist {source} is not valid YAML ({exc}); fix the file") from exc
    if not isinstance(data, dict):
        raise ValueError(f"identity blocklist {source} must be a mapping of list names to lists")
    unknown = sorted(set(data) - set(_LIST_KEYS))
    if unknown:
        raise ValueError(
            f"identity blocklist {source} has unknown list(s) {unknown}; known lists: {', '.join(_LIST_KEYS)}"
        )
    values: dict[str, frozenset[str]] = {}
    for key in _LIST_KEYS:
        items = data.get(key) or []
        if not isinstance(items, list):
            raise ValueError(
                f"identity blocklist {source}: {key!r} must be a list, not {type(items).__name__}"
            )
        values[key] = frozenset(str(item).strip().lower() for item in items if str(item).strip())
    return Blocklist(**values)
