"""KPIs defined once: the dbt semantic layer (dbt_project/models/analytics/semantic) queried with MetricFlow,
from Python (``SemanticLayer``), the ``customer360 metrics`` command or dbt-metricflow's ``mf`` (see
docs/analyst-guide.md, "Metrics")."""

from customer360.metrics.semantic_layer import SemanticLayer, WarehouseBusyError

__all__ = ["SemanticLayer", "WarehouseBusyError"]
