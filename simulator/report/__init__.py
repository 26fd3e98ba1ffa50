"""Reports: report.json (machine-readable), report.md and the terminal summary."""

from simulator.report.build import build_report
from simulator.report.text import markdown, summary_table

__all__ = ["build_report", "markdown", "summary_table"]
