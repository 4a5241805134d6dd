"""Which EC2 instances become lab hosts, and what such a host looks like."""

from __future__ import annotations

import pytest

from orchestrator.lab.watcher import cloud_host, valid

CIDR = "10.214.128.0/17"


@pytest.mark.parametrize(("instance", "ok"), [
    ({"InstanceId": "i-0123456789abcdef0", "PrivateIpAddress": "10.214.128.4"}, True),
    ({"InstanceId": "i-0123456789abcdef0", "PrivateIpAddress": "10.214.0.4"}, False),  # static half
    ({"InstanceId": "i-../../etc", "PrivateIpAddress": "10.214.128.4"}, False),
    ({"InstanceId": "i-0123456789abcdef0"}, False),
    ({"InstanceId": "i-0123456789abcdef0", "PrivateIpAddress": "not-an-ip"}, False),
])
def test_valid(instance, ok):
    assert valid(instance, CIDR) is ok


def test_cloud_host_is_blank_rocky_sized_by_flavor():
    host = cloud_host({"InstanceId": "i-0123456789abcdef0", "PrivateIpAddress": "10.214.128.9",
                       "InstanceType": "m5.xlarge"})
    assert (host.name, host.instance_id, host.hostname) == ("i-0123456789abcdef0", "i-0123456789abcdef0",
                                                           "ip-10-214-128-9")
    assert (host.os.id, host.os.version_id) == ("rocky", "9.3")
    assert (host.cpu_count, host.memory_mb) == (4, 16384)
    assert host.services == () and host.connections == ()
