#!/usr/bin/python
"""Ansible module: ensure one running target instance per migrated server (idempotent by tag)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: pindah_ec2_instance
short_description: Ensure the target instance of one migrated server exists, runs and answers on SSH
description:
  - Finds a running or pending instance tagged C(pindah:server=<server>) and C(pindah:plan=<plan>);
    creates one with RunInstances if there is none. Waits until its private address accepts TCP
    connections on port 22 (and, when I(known_hosts) is given, until its host key is listed there).
  - C(state=absent) terminates, C(state=stopped) stops every live instance with those tags (none is fine):
    what rollback does to the target.
  - Credentials come from the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) or a profile.
options:
  state: {type: str, choices: [present, absent, stopped], default: present}
  tags: {type: dict, default: {}, description: more tags for a new instance (from the plan)}
  server: {type: str, required: true}
  plan: {type: str, required: true}
  endpoint_url: {type: str, required: true}
  region: {type: str, required: true}
  subnet_id: {type: str, required: false}
  image_id: {type: str, required: false}
  instance_type: {type: str, default: t3.micro}
  ssh_port: {type: int, default: 22}
  known_hosts: {type: path, required: false}
  wait_timeout: {type: int, default: 120}
"""

RETURN = r"""
instance_id: {type: str, description: the instance's id}
address: {type: str, description: the instance's private IP address}
created: {type: bool, description: whether this call created the instance}
instance_type: {type: str, description: the instance's type}
removed: {type: list, description: instances terminated or stopped (absent, stopped)}
"""

import socket
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule

LIVE_STATES = ["pending", "running"]


def _find(ec2, server, plan):
    pages = ec2.get_paginator("describe_instances").paginate(Filters=[
        {"Name": "tag:pindah:server", "Values": [server]},
        {"Name": "tag:pindah:plan", "Values": [plan]},
        {"Name": "instance-state-name", "Values": LIVE_STATES},
    ])
    found = [i for page in pages for r in page["Reservations"] for i in r["Instances"]]
    found.sort(key=lambda i: (str(i.get("LaunchTime", "")), i["InstanceId"]))
    return found[0] if found else None


def _create(ec2, params):
    extra = {str(k): str(v) for k, v in (params.get("tags") or {}).items() if not str(k).startswith("pindah:server")}
    extra.update({"pindah:server": params["server"], "pindah:plan": params["plan"]})
    extra.setdefault("Name", params["server"])
    tags = [{"Key": k, "Value": v} for k, v in sorted(extra.items())]
    reply = ec2.run_instances(
        ImageId=params["image_id"], InstanceType=params["instance_type"], SubnetId=params["subnet_id"],
        MinCount=1, MaxCount=1, TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])
    return reply["Instances"][0]


def _wait_running(ec2, instance_id, deadline):
    while True:
        desc = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
        if desc["State"]["Name"] == "running" and desc.get("PrivateIpAddress"):
            return desc
        if time.monotonic() > deadline:
            raise TimeoutError(f"instance {instance_id} is {desc['State']['Name']} without an address")
        time.sleep(0.5)


def _answers_ssh(address, port, known_hosts):
    try:
        with socket.create_connection((address, port), timeout=2):
            pass
    except OSError:
        return False
    if not known_hosts:
        return True
    name = address if port == 22 else f"[{address}]:{port}"
    found = subprocess.run(["ssh-keygen", "-F", name, "-f", known_hosts],  # noqa: S603,S607
                           capture_output=True, check=False)
    return found.returncode == 0


def _wait_ssh(address, port, known_hosts, deadline):
    while not _answers_ssh(address, port, known_hosts):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{address}:{port} did not answer (or its host key is not known) in time")
        time.sleep(0.5)


def _remove(ec2, params):
    """Terminate (absent) or stop (stopped) every live instance of the server; none to remove is fine."""
    found = []
    while True:
        instance = _find(ec2, params["server"], params["plan"])
        if instance is None or instance["InstanceId"] in found:
            return found
        found.append(instance["InstanceId"])
        if params["state"] == "absent":
            ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])
        else:
            ec2.stop_instances(InstanceIds=[instance["InstanceId"]])
            _wait_gone(ec2, instance["InstanceId"])


def _wait_gone(ec2, instance_id, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        desc = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
        if desc["State"]["Name"] not in LIVE_STATES:
            return
        time.sleep(0.5)


def main():
    module = AnsibleModule(argument_spec={
        "state": {"type": "str", "choices": ["present", "absent", "stopped"], "default": "present"},
        "tags": {"type": "dict", "default": {}},
        "server": {"type": "str", "required": True},
        "plan": {"type": "str", "required": True},
        "endpoint_url": {"type": "str", "required": True},
        "region": {"type": "str", "required": True},
        "subnet_id": {"type": "str", "required": False},
        "image_id": {"type": "str", "required": False},
        "instance_type": {"type": "str", "default": "t3.micro"},
        "ssh_port": {"type": "int", "default": 22},
        "known_hosts": {"type": "path", "required": False},
        "wait_timeout": {"type": "int", "default": 120},
    }, required_if=[("state", "present", ("subnet_id", "image_id"))], supports_check_mode=False)
    params = module.params
    try:
        import boto3
        import botocore.exceptions
    except ImportError:
        module.fail_json(msg="boto3 is not importable by this interpreter; run the module on the controller "
                         "with ansible_python_interpreter set to ansible_playbook_python")
    ec2 = boto3.client("ec2", endpoint_url=params["endpoint_url"], region_name=params["region"])
    deadline = time.monotonic() + params["wait_timeout"]
    if params["state"] != "present":
        try:
            removed = _remove(ec2, params)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            module.fail_json(msg=f"EC2 API at {params['endpoint_url']} failed: {exc}")
        module.exit_json(changed=bool(removed), removed=removed)
    try:
        instance = _find(ec2, params["server"], params["plan"])
        created = instance is None
        if created:
            instance = _create(ec2, params)
        desc = _wait_running(ec2, instance["InstanceId"], deadline)
        _wait_ssh(desc["PrivateIpAddress"], params["ssh_port"], params.get("known_hosts"), deadline)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        module.fail_json(msg=f"EC2 API at {params['endpoint_url']} failed: {exc}")
    except TimeoutError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=created, created=created, instance_id=desc["InstanceId"],
                     address=desc["PrivateIpAddress"], instance_type=desc.get("InstanceType", ""))


if __name__ == "__main__":
    main()
