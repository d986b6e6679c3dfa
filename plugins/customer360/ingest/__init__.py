"""Ingest: landing files into ``raw.<channel>``, bad rows into ``audit.quarantine``, every file audited.

``load_channel(settings, channel, as_of_date, run_id) -> ChannelLoadResult`` is the entry point the DAG
calls (one task per channel). Heavy imports (pyarrow, duckdb) happen on first use, so the CLI stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from customer360.ingest.loader import load_channel
    from customer360.ingest.results import ChannelLoadResult, FileLoadResult

__all__ = ["ChannelLoadResult", "FileLoadResult", "load_channel"]


def __getattr__(name: str) -> Any:
    if name == "load_channel":
        from customer360.ingest.loader import load_channel

        return load_channel
    if name in ("ChannelLoadResult", "FileLoadResult"):
        from customer360.ingest import results

        return getattr(results, name)
    raise AttributeError(f"module 'customer360.ingest' has no attribute {name!r}")
