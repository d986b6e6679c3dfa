"""Publishing: the read-only snapshot BI tools read, swapped in whole at the end of a good run."""

from customer360.publish.snapshot import current_database, current_snapshot, publish_marts

__all__ = ["current_database", "current_snapshot", "publish_marts"]
