"""`pindah plan create|show|list|explain|diff`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from orchestrator.cli.common import console, print_json, workspace
from orchestrator.plan import Plan
from orchestrator.planner.diff import PlanDiff
from orchestrator.planning import create_plan, diff_plan_files, explain_server, list_plans, show_plan

plan_app = typer.Typer(help="Create and inspect migration plans.", no_args_is_help=True)


@plan_app.command("create")
def create(
    ctx: typer.Context,
    max_wave_servers: Annotated[int | None, typer.Option(
        "--max-wave-servers", min=1, help="Most servers per wave (default: pindah.toml [plan], else 25).")] = None,
    plan_id: Annotated[str | None, typer.Option("--id", help="Plan id (default: plan-YYYYMMDD-HHMMSS).")] = None,
    base: Annotated[str | None, typer.Option(
        "--base", help="Start from this plan's waves and keep servers where they were when the constraints "
                       "still allow it (few changes for a small change of inputs).")] = None,
) -> None:
    """Group servers into applications and waves; write plans/<ID>.yaml and plans/<ID>.md."""
    created = create_plan(workspace(ctx), plan_id=plan_id, max_wave_servers=max_wave_servers, base_id=base)
    plan = created.plan
    out = console()
    out.print(f"plan {escape(plan.id)}: {len(plan.servers)} server(s), {len(plan.applications)} "
              f"application(s), {len(plan.waves)} wave(s), cross-wave weight {plan.cross_wave_weight:g}")
    if plan.oversized:
        out.print(f"[yellow]oversized (own wave):[/] {escape(', '.join(plan.oversized))}")
    if plan.monthly_cost is not None:
        out.print(f"cost: {plan.monthly_cost:,.0f} {escape(plan.currency or '')}/month once every wave has moved")
    if plan.waves and plan.waves[-1].end:
        out.print(f"dates: {plan.waves[0].start} to {plan.waves[-1].end}")
    out.print(f"wrote {escape(str(created.yaml_path))} and {escape(str(created.markdown_path))}")


def _render(plan: Plan) -> None:
    out = console()
    out.print(f"plan {escape(plan.id)}  created {escape(plan.created_at)}  inputs {escape(plan.input_digest)}")
    apps = {a.name: a for a in plan.applications}
    servers = {s.name: s for s in plan.servers}
    for wave in plan.waves:
        dates = f", {wave.start} to {wave.end}" if wave.start else ""
        table = Table(title=f"wave {wave.index}: {len(wave.servers)} server(s){dates}", title_justify="left")
        for column in ("server", "address", "application", "role", "strategy"):
            table.add_column(column)
        for name in wave.servers:
            server = servers[name]
            table.add_row(escape(name), escape(server.address or ""), escape(server.application),
                          escape(server.role or ""), escape(server.strategy))
        out.print(table)
        out.print(f"  why: {escape(wave.reason)}")
        if wave.replication_hours is not None:
            window = f" of a {wave.window_hours:g} h window" if wave.window_hours is not None else ""
            out.print(f"  replication: {wave.data_gb or 0:,.0f} GB in {wave.replication_hours:g} h{window}")
        for use in wave.zone_use:
            out.print(f"  zone {escape(use.zone)} ({escape(use.period)}): {use.servers} servers, {use.vcpu} vCPU, "
                      f"{use.memory_gb:g} GB memory")
        for app in wave.applications:
            out.print(f"  - {escape(app)}: {escape(apps[app].reason)}")
    if plan.oversized:
        out.print(f"[yellow]oversized:[/] {escape(', '.join(plan.oversized))}")


@plan_app.command("show")
def show(
    ctx: typer.Context,
    plan_id: Annotated[str, typer.Argument(help="The plan id (file name without .yaml).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Show a plan: a table per wave, or the whole plan as JSON."""
    plan = show_plan(workspace(ctx), plan_id)
    if as_json:
        print_json(plan.model_dump(mode="json"))
    else:
        _render(plan)


@plan_app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """List the plans in the workspace, oldest first."""
    plans = list_plans(workspace(ctx))
    if as_json:
        print_json([{"id": p.id, "created_at": p.created_at, "waves": p.waves, "servers": p.servers}
                    for p in plans])
        return
    table = Table("id", "created", "waves", "servers")
    for p in plans:
        table.add_row(escape(p.id), escape(p.created_at), str(p.waves), str(p.servers))
    console().print(table)


@plan_app.command("explain")
def explain(
    ctx: typer.Context,
    plan_id: Annotated[str, typer.Argument(help="The plan id.")],
    server: Annotated[str, typer.Argument(help="A server in the plan.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the reasons as JSON.")] = False,
) -> None:
    """Say in plain words why SERVER is in its wave: dependencies, pins, capacity, ramp, constraints."""
    planned = explain_server(workspace(ctx), plan_id, server)
    if as_json:
        print_json({"plan": plan_id, "server": planned.name, "application": planned.application,
                    "wave": planned.wave, "reasons": list(planned.reasons)})
        return
    out = console()
    out.print(f"{escape(planned.name)} is in wave {planned.wave} of plan {escape(plan_id)} "
              f"(application {escape(planned.application)}) because:")
    for reason in planned.reasons or (planned.reason,):
        out.print(f"  - {escape(reason)}")


def _render_diff(diff: PlanDiff) -> None:
    out = console()
    inputs = "same inputs" if diff.same_inputs else "different inputs"
    out.print(f"plan {escape(diff.before)} -> {escape(diff.after)} ({inputs}): waves {diff.waves_before} -> "
              f"{diff.waves_after}, cross-wave weight {diff.cross_wave_weight_before:g} -> "
              f"{diff.cross_wave_weight_after:g}")
    if diff.unchanged:
        out.print("no server changed wave")
        return
    if diff.moved:
        table = Table("server", "application", "from wave", "to wave", title=f"{len(diff.moved)} moved server(s)",
                      title_justify="left")
        for m in diff.moved:
            table.add_row(escape(m.name), escape(m.application), str(m.from_wave), str(m.to_wave))
        out.print(table)
    for label, items in (("added", diff.added), ("removed", diff.removed)):
        for p in items:
            out.print(f"{label}: {escape(p.name)} ({escape(p.application)}, wave {p.wave})")
    for w in diff.waves:
        out.print(f"wave {w.index}: {w.servers_before} -> {w.servers_after} server(s); joined: "
                  f"{escape(', '.join(w.joined) or '-')}; left: {escape(', '.join(w.left) or '-')}")


@plan_app.command("diff")
def diff(
    ctx: typer.Context,
    before: Annotated[str, typer.Argument(help="The older plan id.")],
    after: Annotated[str, typer.Argument(help="The newer plan id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the differences as JSON.")] = False,
) -> None:
    """Show which servers moved between waves, which were added or removed, and which waves changed."""
    result = diff_plan_files(workspace(ctx), before, after)
    if as_json:
        print_json(result.model_dump(mode="json"))
    else:
        _render_diff(result)


def register(app: typer.Typer) -> None:
    app.add_typer(plan_app, name="plan")
