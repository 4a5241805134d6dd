"""What is alive in a lab: sshd per host (by PID), the S3/EC2 endpoints, cloud hosts."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from orchestrator.lab.hosts import alive
from orchestrator.lab.manifest import LabHost, load_manifest


class LabStatus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    state_dir: str
    hosts_expected: int
    hosts_up: int
    hosts_down: tuple[str, ...]
    s3_endpoint: str
    s3_alive: bool
    ec2_endpoint: str
    ec2_alive: bool
    watcher_alive: bool
    cloud_hosts: int


def endpoint_alive(url: str) -> bool:
    if not url:
        return False
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - the lab's own http endpoint
            return True
    except urllib.error.HTTPError:
        return True  # it answered
    except (OSError, ValueError):
        return False


def cloud_host_names(state_dir: Path) -> list[str]:
    cloud_dir = state_dir / "cloud-hosts"
    return sorted(p.name for p in cloud_dir.iterdir()) if cloud_dir.is_dir() else []


def cloud_hosts(state_dir: Path) -> list[LabHost]:
    """Lab hosts the watcher made from running EC2 instances (name = instance id)."""
    hosts = []
    for name in cloud_host_names(state_dir):
        try:
            record = json.loads((state_dir / "cloud-hosts" / name).read_text())
        except (OSError, ValueError):
            continue  # being written or removed right now
        hosts.append(LabHost.model_validate(record["host"]))
    return hosts


def lab_status(state_dir: Path) -> LabStatus:
    manifest = load_manifest(state_dir)
    down = tuple(h.name for h in manifest.hosts if not alive(manifest.pids.get(f"sshd:{h.name}", 0) or -1))
    cloud = manifest.cloud
    return LabStatus(
        state_dir=str(state_dir), hosts_expected=len(manifest.hosts), hosts_up=len(manifest.hosts) - len(down),
        hosts_down=down, s3_endpoint=cloud.s3_endpoint if cloud else "",
        s3_alive=endpoint_alive(cloud.s3_endpoint) if cloud else False,
        ec2_endpoint=cloud.ec2_endpoint if cloud else "",
        ec2_alive=endpoint_alive(cloud.ec2_endpoint) if cloud else False,
        watcher_alive=alive(manifest.pids.get("watcher", 0) or -1),
        cloud_hosts=len(cloud_host_names(state_dir)),
    )
