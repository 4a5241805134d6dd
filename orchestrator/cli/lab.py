"""`pindah lab up|status|down`: the simulated estate in the workspace's .pindah/lab."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.markup import escape

from orchestrator import lab
from orchestrator.cli.common import console, print_json, workspace

lab_app = typer.Typer(help="Build, inspect and remove the lab estate (real sshd hosts, S3 and EC2 endpoints).",
                      no_args_is_help=True)


@lab_app.command("up")
def up(
    ctx: typer.Context,
    hosts: Annotated[int, typer.Option("--hosts", "-n", min=1, max=5000, help="How many hosts.")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the estate (same seed, same estate).")] = 7,
    subnet: Annotated[str, typer.Option("--subnet", help="IPv4 subnet of the lab (lower half: hosts, "
                                        "upper half: cloud instances).")] = "10.213.0.0/16",
    services_on: Annotated[int | None, typer.Option(
        "--services-on", min=0, help="Only the first N hosts run their services; the others run sshd only "
        f"(default: the first {lab.FULL_HOSTS}).")] = None,
) -> None:
    """Build the lab estate (a no-op when the same lab is already up)."""
    state_dir = workspace(ctx).lab_dir
    out = console()
    if lab.existing(state_dir) is not None:
        manifest = lab.lab_up(state_dir, hosts, seed, subnet, services_on=services_on)  # same: no-op
        out.print(f"lab is already up in {escape(str(state_dir))} ({manifest.host_count} hosts, seed {seed})")
    else:
        started = time.monotonic()
        manifest = lab.lab_up(state_dir, hosts, seed, subnet, services_on=services_on)
        light = sum(1 for h in manifest.hosts if h.sshd_only)
        out.print(f"lab up: {manifest.host_count} hosts on {manifest.subnet} "
                  f"in {time.monotonic() - started:.1f}s" + (f" ({light} run sshd only)" if light else ""))
    out.print(f"inventory:   {escape(manifest.paths.inventory)}")
    out.print(f"known_hosts: {escape(manifest.paths.known_hosts)}")
    out.print(f"manifest:    {escape(manifest.paths.manifest)}")
    out.print(f"servers csv: {escape(manifest.paths.servers_csv)}")
    if manifest.cloud is not None:
        out.print(f"EC2 endpoint {escape(manifest.cloud.ec2_endpoint)}, S3 endpoint "
                  f"{escape(manifest.cloud.s3_endpoint)}, region {manifest.cloud.region}")


@lab_app.command("status")
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Which lab hosts and endpoints are alive."""
    result = lab.lab_status(workspace(ctx).lab_dir)
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    out = console()
    out.print(f"hosts: {result.hosts_up}/{result.hosts_expected} up")
    if result.hosts_down:
        out.print("down: " + escape(", ".join(result.hosts_down)))
    out.print(f"S3  {escape(result.s3_endpoint or '-')}: {'alive' if result.s3_alive else 'DOWN'}")
    out.print(f"EC2 {escape(result.ec2_endpoint or '-')}: {'alive' if result.ec2_alive else 'DOWN'}")
    out.print(f"cloud hosts: {result.cloud_hosts} (watcher {'alive' if result.watcher_alive else 'DOWN'})")


@lab_app.command("down")
def down(ctx: typer.Context) -> None:
    """Stop every lab process and remove the lab's devices and state (idempotent)."""
    state_dir = workspace(ctx).lab_dir
    lab.lab_down(state_dir)
    console().print(f"lab down: {escape(str(state_dir))} removed")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(lab_app, name="lab")
