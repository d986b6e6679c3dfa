"""Identity resolution: which source records belong to the same customer, with stable customer ids.

``resolve(settings, as_of_date, run_id)`` reads ``intermediate.int_contact_records_unioned`` and writes
``identity.customer_source_xref``, ``identity.contact_points``, ``identity.customer_merge_history`` and
``identity.customer_id_aliases`` (plus its own state: ``identity.customer_ids``, ``identity.match_edges``,
``identity.resolution_runs``). See ``README.md`` in this folder for the rules.

The heavy modules (numpy, pyarrow, scipy) load on first use, so importing the package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from customer360.identity.evaluate import EvaluationResult, evaluate_identity
    from customer360.identity.resolution import ResolutionResult, resolve

__all__ = ["EvaluationResult", "ResolutionResult", "evaluate_identity", "resolve"]

_LAZY = {
    "resolve": "customer360.identity.resolution",
    "ResolutionResult": "customer360.identity.resolution",
    "evaluate_identity": "customer360.identity.evaluate",
    "EvaluationResult": "customer360.identity.evaluate",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'customer360.identity' has no attribute {name!r}")
