"""A pindah workspace: pindah.toml, inventory/, plans/ and .pindah/state.db.

Commands find the workspace from ``--workspace``, else ``PINDAH_WORKSPACE``, else the current
directory and its parents.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import WorkspaceError, WorkspaceNotFound

CONFIG_NAME = "pindah.toml"
STATE_DIR = ".pindah"
ENV_VAR = "PINDAH_WORKSPACE"

DEFAULT_CONFIG = """\
# pindah workspace configuration
[workspace]
name = "{name}"

[plan]
# most servers in one wave (an application larger than this gets a wave of its own)
max_wave_servers = 25
# max_wave_storage_gb = 5000     # most disk (GB) in one wave; 0: no limit
# pilot_servers = 5              # wave 1: a pilot of at most this many non-production servers; 0: none
# pilot_criticality = ["low"]    # criticalities allowed in the pilot wave
# ramp = [10, 15]                # server limits of the waves after the pilot
# separate_environments = false  # true: a wave holds only prod or only nonprod servers
# hard_ports = [5432, 3306]      # dependencies on these ports are hard: providers move first or together
# anti_affinity = [["billing", "payroll"]]
# merge = [["billing", "payroll"]]           # applications that move as one group
# start_date = 2027-01-04        # wave 1's first day; then back-to-back waves of wave_days
# wave_days = 7
# windows = [["2027-01-04", "2027-01-08"]]   # explicit windows of the first waves (then the cadence)
# end_date = 2027-12-31          # every wave must end by then
# default_bandwidth_mbps = 100   # replication link of sites not in [plan.bandwidth_mbps]
# sizing_percentile = 95         # right-sizing: this percentile of the utilisation samples
# sizing_comfort = 1.3           # ... times this comfort factor
# sizing_min_samples = 12        # samples needed for the highest sizing confidence
# [plan.pins]                    # server or application -> wave
# billing = 3
# [plan.split.app-web01]         # take servers out of an application into a move group of their own
# reports = ["rpt01", "rpt02"]
# [[plan.freeze]]                # change freeze: the servers it covers do not move in waves overlapping it
# name = "budget close"
# start = 2027-03-20
# end = 2027-04-05
# agencies = ["ag001"]           # and/or applications, servers, sites; none: every server
# [plan.bandwidth_mbps]          # site -> Mbit/s available for replication
# site001 = 200
# [plan.zones.jkt-a]             # target cloud capacity for new servers per wave (per = "month": per month)
# sites = ["site001"]            # none: every server no other zone takes
# max_servers = 40
# max_vcpu = 160
# max_memory_gb = 640
# per = "wave"
# [plan.strategy]                # server or application -> rehost|replatform|retire|retain|consolidate
# legacy01 = "retain"

[approval]
# true: the author of a plan may approve it too (no second person); keep false for four eyes
allow_self_approval = false

# [cloud]
# The national cloud's EC2- and S3-compatible endpoints. Credentials come from the usual
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY environment variables or a profile, never this file.
# When this section is absent and a lab is up, the lab's endpoints are used.
# ec2_endpoint = "https://compute.example.go.id"
# s3_endpoint = "https://storage.example.go.id"
# region = "id-jkt-1"
# subnet_id = "subnet-..."
# image_id = "ami-..."
# instance_type = "t3.micro"
"""


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def db_path(self) -> Path:
        return self.state_dir / "state.db"

    @property
    def inventory_dir(self) -> Path:
        return self.root / "inventory"

    @property
    def plans_dir(self) -> Path:
        return self.root / "plans"

    @property
    def lab_dir(self) -> Path:
        return self.state_dir / "lab"

    @property
    def runs_dir(self) -> Path:
        return self.state_dir / "runs"

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

    def config(self) -> dict[str, Any]:
        try:
            with self.config_path.open("rb") as fh:
                return tomllib.load(fh)
        except FileNotFoundError as exc:
            raise WorkspaceError(f"{self.config_path} is missing",
                                 hint="run 'pindah init' in this directory") from exc
        except tomllib.TOMLDecodeError as exc:
            raise WorkspaceError(f"{self.config_path} is not valid TOML: {exc}",
                                 hint="fix the file; 'pindah init' writes a commented example") from exc


def init_workspace(directory: Path) -> Workspace:
    """Create (or complete) a workspace in ``directory``; never overwrites an existing config."""
    from orchestrator.store import Store

    root = directory.resolve()
    if root.exists() and not root.is_dir():
        raise WorkspaceError(f"{root} exists and is not a directory", hint="choose another path")
    ws = Workspace(root)
    for folder in (root, ws.inventory_dir, ws.plans_dir, ws.state_dir):
        folder.mkdir(parents=True, exist_ok=True)
    if not ws.config_path.exists():
        ws.config_path.write_text(DEFAULT_CONFIG.format(name=root.name), encoding="utf-8")
    ws.config()  # validate what is there
    Store.open(ws.db_path, create=True).close()
    return ws


def find_workspace(explicit: Path | None = None, start: Path | None = None) -> Workspace:
    """Locate the workspace: explicit path, then $PINDAH_WORKSPACE, then upwards from ``start``."""
    if explicit is not None:
        return _require(explicit, "--workspace")
    env = os.environ.get(ENV_VAR)
    if env:
        return _require(Path(env), f"${ENV_VAR}")
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_NAME).is_file():
            return Workspace(candidate)
    raise WorkspaceNotFound(
        f"no pindah workspace in {here} or any parent directory",
        hint="run 'pindah init DIR' first, then cd into it, or pass --workspace DIR / set PINDAH_WORKSPACE",
    )


def _require(path: Path, origin: str) -> Workspace:
    root = path.resolve()
    if not (root / CONFIG_NAME).is_file():
        raise WorkspaceNotFound(f"{root} (from {origin}) is not a pindah workspace: no {CONFIG_NAME}",
                                hint=f"run 'pindah init {path}' to create one")
    return Workspace(root)
