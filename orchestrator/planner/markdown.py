"""A plan as Markdown for a migration lead (``plans/<id>.md``). Pure: Plan in, text out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from orchestrator.plan import Plan

_ESCAPED = str.maketrans({"|": "\\|", "`": "\\`", "*": "\\*", "_": "\\_", "<": "&lt;", ">": "&gt;",
                          "[": "\\[", "]": "\\]", "\\": "\\\\"})


def md_cell(value: object) -> str:
    """Text safe inside a Markdown table cell: no pipes, newlines, backticks or HTML survive."""
    text = "" if value is None else str(value)
    text = " ".join(text.replace("\r", " ").replace("\n", " ").split())
    return text.translate(_ESCAPED)


def md_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(md_cell(h) for h in headers) + " |",
             "|" + "|".join(" --- " for _ in headers) + "|"]
    lines.extend("| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows)
    return lines


def _gb(value: float) -> str:
    return f"{value:,.1f}"


def wave_storage_gb(plan: Plan) -> dict[int, float]:
    totals: dict[int, float] = {w.index: 0.0 for w in plan.waves}
    for server in plan.servers:
        totals[server.wave] = totals.get(server.wave, 0.0) + (server.disk_gb or 0.0)
    return totals


def _cross_wave(plan: Plan) -> list[tuple[str, int, str, int, int, float, str]]:
    wave = {s.name: s.wave for s in plan.servers}
    return [(d.source, wave[d.source], d.target, wave[d.target], d.port, d.weight, d.kind)
            for d in plan.dependencies if wave.get(d.source) != wave.get(d.target)]


def render_plan_markdown(plan: Plan) -> str:
    storage = wave_storage_gb(plan)
    lines = [f"# Migration plan {md_cell(plan.id)}", "",
             f"- created: {md_cell(plan.created_at)}",
             f"- input digest: `{plan.input_digest}`",
             f"- servers: {len(plan.servers)} in {len(plan.applications)} application(s) and "
             f"{len(plan.waves)} wave(s), at most {plan.max_wave_servers} servers per wave",
             f"- dependency weight crossing waves: {plan.cross_wave_weight:g}", ""]
    lines += [f"- {md_cell(note)}" for note in plan.notes] + [""]
    lines += ["## Waves", ""]
    lines += md_table(["wave", "servers", "limit", "applications", "storage GB", "why"],
                      [(w.index, len(w.servers), w.max_servers or "", ", ".join(w.applications),
                        _gb(storage[w.index]), w.reason) for w in plan.waves])
    lines += _schedule(plan)
    apps = {a.name: a for a in plan.applications}
    for wave in plan.waves:
        lines += ["", f"### Wave {wave.index}", ""]
        lines += md_table(["application", "servers", "why"],
                          [(a, ", ".join(apps[a].servers), apps[a].reason) for a in wave.applications])
    lines += ["", "## Oversized applications", ""]
    lines += [f"- {md_cell(a)}: {len(apps[a].servers)} servers" for a in plan.oversized] or ["none"]
    cross = _cross_wave(plan)
    lines += ["", "## Dependencies crossing waves", ""]
    if cross:
        lines += md_table(["consumer", "wave", "provider", "wave", "port", "weight", "kind"],
                          [(s, sw, t, tw, p, f"{w:g}", k) for s, sw, t, tw, p, w, k in cross])
    else:
        lines.append("none")
    lines += ["", "## Connections to addresses outside the estate", ""]
    if plan.external:
        wave_of = {s.name: s.wave for s in plan.servers}
        lines += md_table(["server", "wave", "remote address", "port", "connections"],
                          [(x.source, wave_of.get(x.source, ""), x.address, x.port, x.count)
                           for x in plan.external])
    else:
        lines.append("none")
    lines += _costs(plan) + _servers(plan)
    return "\n".join(lines) + "\n"


def _schedule(plan: Plan) -> list[str]:
    """Dates, replication time against the window, and zone use per wave, when the plan has them."""
    if not any(w.start or w.replication_hours is not None or w.zone_use for w in plan.waves):
        return []
    lines = ["", "### Dates, replication and zones", ""]

    def hours(value: float | None) -> str:
        return "" if value is None else f"{value:,.1f}"

    lines += md_table(["wave", "start", "end", "data GB", "replication h", "window h", "zones"],
                      [(w.index, w.start or "", w.end or "", _gb(w.data_gb or 0.0), hours(w.replication_hours),
                        hours(w.window_hours),
                        "; ".join(f"{z.zone} ({z.period}): {z.servers} servers, {z.vcpu} vCPU, {z.memory_gb:g} GB"
                                  for z in w.zone_use)) for w in plan.waves])
    return lines


def _servers(plan: Plan) -> list[str]:
    return ["", "## Servers", "", *md_table(
        ["server", "address", "application", "wave", "strategy", "why"],
        [(s.name, s.address or "", s.application, s.wave, s.strategy, s.reason) for s in plan.servers])]


def _costs(plan: Plan) -> list[str]:
    """Sizing and monthly cost, when the plan was made with a catalog."""
    if plan.currency is None:
        return []
    lines = ["", "## Sizing and cost", "",
             f"- total: {plan.monthly_cost or 0:,.0f} {md_cell(plan.currency)}/month once every wave has moved", ""]
    if plan.monthly_cost_by_month:
        lines += [*md_table(["month", f"{plan.currency}/month run-rate"],
                            [(m, f"{c:,.0f}") for m, c in plan.monthly_cost_by_month]), ""]
    lines += md_table(["wave", f"{plan.currency}/month"], [(w.index, f"{w.monthly_cost or 0:,.0f}")
                                                           for w in plan.waves])
    lines += [""]
    lines += md_table(["server", "flavor", f"{plan.currency}/month", "sizing", "confidence", "strategy", "evidence"],
                      [(s.name, s.flavor or "none fits", f"{s.monthly_cost:,.0f}" if s.monthly_cost is not None
                        else "", s.sizing_method or "", f"{s.sizing_confidence}/5", s.strategy, s.strategy_reason)
                       for s in plan.servers])
    return lines
