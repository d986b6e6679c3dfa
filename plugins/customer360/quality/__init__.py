"""Data quality: Great Expectations checkpoints per stage, in-database on the DuckDB warehouse.

``run_checkpoint(settings, stage, as_of_date, run_id) -> StageResult`` is the entry point; suites live in
``expectations/<stage>.py``; ``gx_duckdb`` owns the DuckDB compatibility. Great Expectations itself is
imported only when a checkpoint runs.
"""

from __future__ import annotations

from customer360.quality.results import CheckOutcome, StageResult
from customer360.quality.runner import STAGES, run_checkpoint
from customer360.quality.specs import SuiteSpec, critical, warning

__all__ = ["STAGES", "CheckOutcome", "StageResult", "SuiteSpec", "critical", "run_checkpoint", "warning"]
