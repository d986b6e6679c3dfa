"""Per-channel reading configuration from ``config/channels.yml`` (``settings.channels_file``).

The landing contract says what a channel must deliver; this file says how one installation's exports
spell it: source column names, text encoding, CSV delimiter and the time zone of timestamps without an
offset. Everything is optional; a channel not listed, or a missing file, means "as the contract says"::

    defaults:
      encoding: auto                       # or a Python codec name: utf-8, gb18030, cp1252, latin-1
      fallback_encodings: [gb18030, cp1252, latin-1]
    channels:
      crm_contacts:
        delimiter: ","
        timezone: Europe/Amsterdam
        columns:                           # contract name: source name
          email: E-mail address
      web_orders:
        columns:
          customer.email: buyer.mail       # JSON paths use dots
          lines: items                     # the nested array that is unnested

Unknown channels, unknown contract columns and unknown keys are errors that name the file and the key:
a typo must not silently load a column as empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from customer360.landing.contract import CHANNELS, Channel, get_channel
from customer360.landing.encoding import AUTO, DEFAULT_FALLBACK_ENCODINGS, canonical_codec
from customer360.settings import Settings

_CHANNEL_KEYS = {"encoding", "fallback_encodings", "delimiter", "timezone", "columns", "phone_region"}
_DEFAULT_KEYS = {"encoding", "fallback_encodings"}


class ChannelConfigError(ValueError):
    """``channels.yml`` is malformed; the message names the file, the channel and the key."""


@dataclass(frozen=True)
class ChannelConfig:
    """How to read one channel's files: the contract plus this installation's overrides."""

    channel: Channel
    columns: Mapping[str, str] = field(default_factory=dict)  # contract name -> source name (overrides only)
    encoding: str = AUTO
    fallback_encodings: tuple[str, ...] = DEFAULT_FALLBACK_ENCODINGS
    delimiter: str = ","
    timezone: str = "UTC"
    config_file: Path | None = None
    # ISO 3166 region for phone numbers written without a country code when the record itself, its account
    # and the person's other records give no country (identity.phone_regions); None: the global default
    phone_region: str | None = None

    @property
    def name(self) -> str:
        return self.channel.name

    def source_name(self, contract_name: str) -> str:
        """The column (CSV, Parquet) or dotted JSON path (JSON lines) that holds ``contract_name``."""
        return self.columns.get(contract_name, contract_name)

    @property
    def unnest_source(self) -> str | None:
        """The source name of the nested array unnested into one raw row per element, if any."""
        if self.channel.unnest is None:
            return None
        return self.columns.get(self.channel.unnest, self.channel.unnest)

    @classmethod
    def for_contract(cls, channel: Channel) -> ChannelConfig:
        return cls(
            channel=channel,
            encoding=AUTO if channel.encoding.lower() in ("utf-8", "utf8") else channel.encoding,
            delimiter=channel.delimiter,
            timezone=channel.timezone,
        )


def _fail(path: Path, where: str, problem: str) -> ChannelConfigError:
    return ChannelConfigError(f"{path}: {where}: {problem}")


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ChannelConfigError(f"{path}: not valid YAML: {exc}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise _fail(path, "top level", "expected a mapping with 'defaults' and 'channels'")
    unknown = set(loaded) - {"defaults", "channels", "version"}
    if unknown:
        raise _fail(path, "top level", f"unknown key(s) {sorted(unknown)}; expected defaults, channels")
    return loaded


def _encoding(path: Path, where: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(path, where, f"encoding must be 'auto' or a codec name, not {value!r}")
    if value.lower() == AUTO:
        return AUTO
    try:
        return canonical_codec(value)
    except ValueError as exc:
        raise _fail(path, where, str(exc)) from None


def _fallbacks(path: Path, where: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(path, where, f"fallback_encodings must be a list of codec names, not {value!r}")
    return tuple(_encoding(path, where, v) for v in value)


def _delimiter(path: Path, where: str, value: object) -> str:
    if not isinstance(value, str) or len(value) != 1 or value in ('"', "\r", "\n"):
        raise _fail(
            path, where, f"delimiter must be one character other than a quote or newline, not {value!r}"
        )
    return value


def _timezone(path: Path, where: str, value: object) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(
            path, where, f"unknown time zone {value!r} (use an IANA name such as Europe/Amsterdam)"
        ) from None
    return str(value)


def _columns(path: Path, where: str, channel: Channel, value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(path, where, "columns must map contract names to source names")
    known = {c.name for c in channel.all_columns} | ({channel.unnest} if channel.unnest else set())
    mapping: dict[str, str] = {}
    for contract_name, source_name in value.items():
        if contract_name not in known:
            raise _fail(
                path,
                f"{where}.{contract_name}",
                f"not a column of the {channel.name} contract; known: {', '.join(sorted(known))}",
            )
        if not isinstance(source_name, str) or not source_name.strip():
            raise _fail(
                path, f"{where}.{contract_name}", f"source name must be non-empty text, not {source_name!r}"
            )
        if '"' in source_name:
            raise _fail(path, f"{where}.{contract_name}", "source names may not contain double quotes")
        mapping[str(contract_name)] = source_name.strip()
    seen: dict[str, str] = {}
    for contract_name in sorted(known, key=lambda k: (k not in mapping, k)):
        source_name = mapping.get(contract_name, contract_name).casefold()
        if source_name in seen:
            raise _fail(
                path,
                where,
                f"source column {source_name!r} would feed both {seen[source_name]} and {contract_name}",
            )
        seen[source_name] = contract_name
    return mapping


def _phone_region(path: Path, where: str, value: object) -> str:
    import phonenumbers

    region = str(value).strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise _fail(path, where, f"{value!r} is not an ISO 3166 region phonenumbers knows (e.g. NL, BE, DE)")
    return region


def load_channel_configs(settings: Settings) -> dict[str, ChannelConfig]:
    """Every channel's configuration: the contract's defaults overlaid with ``settings.channels_file``."""
    path = settings.channels_file
    assert path is not None
    raw = _read_yaml(path) if path.exists() else {}
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise _fail(path, "defaults", "expected a mapping")
    unknown = set(defaults) - _DEFAULT_KEYS
    if unknown:
        raise _fail(path, "defaults", f"unknown key(s) {sorted(unknown)}; allowed: {sorted(_DEFAULT_KEYS)}")
    channels_raw = raw.get("channels") or {}
    if not isinstance(channels_raw, dict):
        raise _fail(path, "channels", "expected a mapping of channel name to settings")
    for name in channels_raw:
        if name not in CHANNELS:
            raise _fail(
                path,
                f"channels.{name}",
                f"unknown channel; the landing contract knows: {', '.join(CHANNELS)}",
            )

    configs: dict[str, ChannelConfig] = {}
    for name, channel in CHANNELS.items():
        base = ChannelConfig.for_contract(channel)
        section = channels_raw.get(name) or {}
        where = f"channels.{name}"
        if not isinstance(section, dict):
            raise _fail(path, where, "expected a mapping")
        unknown = set(section) - _CHANNEL_KEYS
        if unknown:
            raise _fail(path, where, f"unknown key(s) {sorted(unknown)}; allowed: {sorted(_CHANNEL_KEYS)}")
        merged = {**defaults, **section}
        configs[name] = ChannelConfig(
            channel=channel,
            columns=_columns(path, f"{where}.columns", channel, section.get("columns")),
            encoding=_encoding(path, f"{where}.encoding", merged["encoding"])
            if "encoding" in merged
            else base.encoding,
            fallback_encodings=(
                _fallbacks(path, f"{where}.fallback_encodings", merged["fallback_encodings"])
                if "fallback_encodings" in merged
                else base.fallback_encodings
            ),
            delimiter=_delimiter(path, f"{where}.delimiter", section["delimiter"])
            if "delimiter" in section
            else base.delimiter,
            timezone=_timezone(path, f"{where}.timezone", section["timezone"])
            if "timezone" in section
            else base.timezone,
            config_file=path if path.exists() else None,
            phone_region=_phone_region(path, f"{where}.phone_region", section["phone_region"])
            if section.get("phone_region")
            else None,
        )
    return configs


def load_channel_config(settings: Settings, channel: str) -> ChannelConfig:
    """One channel's configuration; raises ``KeyError`` for a channel the contract does not know."""
    get_channel(channel)
    return load_channel_configs(settings)[channel]
