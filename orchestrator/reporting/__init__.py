"""Reports beyond the Markdown summary: one data model (``model.Report``) rendered as HTML and JSON."""

from orchestrator.reporting.build import OnPremCost, ReportSources, build_report
from orchestrator.reporting.html import render_html, report_json
from orchestrator.reporting.model import Report

__all__ = ["OnPremCost", "Report", "ReportSources", "build_report", "render_html", "report_json"]
