"""The run report: one self-contained HTML page of charts over the published marts, and the docs sites."""

from customer360.report.build import REPORT_FILE, build_report

__all__ = ["REPORT_FILE", "build_report"]
