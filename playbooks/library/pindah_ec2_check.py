#!/usr/bin/python
"""Ansible module: can the cloud start this server's target (flavor offered, image and subnet exist)?"""

from __future__ import annotations

DOCUMENTATION = r"""
module: pindah_ec2_check
short_description: Check that the target flavor, image and subnet exist in the EC2-compatible cloud
description:
  - Read-only (DescribeInstanceTypes, DescribeImages, DescribeSubnets); fails naming what is missing.
  - Credentials come from the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) or a profile.
options:
  endpoint_url: {type: str, required: true}
  region: {type: str, required: true}
  instance_type: {type: str, required: true}
  image_id: {type: str, required: true}
  subnet_id: {type: str, required: true}
"""

RETURN = r"""
vcpus: {type: int, description: the flavor's vCPUs}
memory_mb: {type: int, description: the flavor's memory}
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={
        "endpoint_url": {"type": "str", "required": True},
        "region": {"type": "str", "required": True},
        "instance_type": {"type": "str", "required": True},
        "image_id": {"type": "str", "required": True},
        "subnet_id": {"type": "str", "required": True},
    }, supports_check_mode=True)
    p = module.params
    try:
        import boto3
        import botocore.exceptions
    except ImportError:
        module.fail_json(msg="boto3 is not importable by this interpreter; run the module on the controller")
    ec2 = boto3.client("ec2", endpoint_url=p["endpoint_url"], region_name=p["region"])
    checks = (
        ("flavor", p["instance_type"], lambda: ec2.describe_instance_types(InstanceTypes=[p["instance_type"]])),
        ("image", p["image_id"], lambda: ec2.describe_images(ImageIds=[p["image_id"]])),
        ("subnet", p["subnet_id"], lambda: ec2.describe_subnets(SubnetIds=[p["subnet_id"]])),
    )
    found = {}
    for what, value, call in checks:
        try:
            reply = call()
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            module.fail_json(msg=f"target {what} {value!r} is not available in the cloud ({code})")
        except botocore.exceptions.BotoCoreError as exc:
            module.fail_json(msg=f"EC2 API at {p['endpoint_url']} failed: {exc}")
        listed = reply.get({"flavor": "InstanceTypes", "image": "Images", "subnet": "Subnets"}[what]) or []
        if not listed:
            module.fail_json(msg=f"target {what} {value!r} is not available in the cloud")
        found[what] = listed[0]
    flavor = found["flavor"]
    module.exit_json(changed=False, vcpus=int(flavor.get("VCpuInfo", {}).get("DefaultVCpus", 0)),
                     memory_mb=int(flavor.get("MemoryInfo", {}).get("SizeInMiB", 0)))


if __name__ == "__main__":
    main()
