"""The report as one self-contained HTML file (no network: the CSS, the script and the data are inline). Pure.

The page embeds the report model as JSON in a ``<script type="application/json">`` block and renders it with
its own small script (``static/report.js``): the JSON and the page cannot disagree. Strings from scanned hosts
are escaped twice over: ``<``, ``>`` and ``&`` become JSON ``\\u`` escapes (no ``</script>`` can end the block),
and the script puts every value on the page as text, never as markup.
"""

from __future__ import annotations

import html
import re
from importlib import resources

from orchestrator.reporting.model import Report

_MARKER = re.compile(r"\{\{(TITLE|CSS|JS|DATA)\}\}")
_JSON_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                               "\u2029": "\\u2029"})


def asset(name: str) -> str:
    return resources.files("orchestrator.reporting").joinpath("static", name).read_text(encoding="utf-8")


def report_json(report: Report, *, indent: int | None = 2) -> str:
    return report.model_dump_json(indent=indent)


def embedded_json(report: Report) -> str:
    """The model as JSON that is safe inside a script element."""
    return report_json(report, indent=None).translate(_JSON_ESCAPES)


def render_html(report: Report) -> str:
    title = f"pindah report: plan {report.plan_id}" if report.plan_id else "pindah report"
    values = {"TITLE": html.escape(title), "CSS": asset("report.css"), "JS": asset("report.js"),
              "DATA": embedded_json(report)}
    # one pass over the template: a value is never scanned for markers again
    return _MARKER.sub(lambda m: values[m.group(1)], asset("report.html"))
