"""Virtualisation: ``systemd-detect-virt``, else DMI product/vendor names, else the cpuinfo hypervisor flag."""

from __future__ import annotations

from discovery.probes.partial import Partial

COMMAND = (
    "echo \"%% detect $(systemd-detect-virt 2>/dev/null)\"; "
    "echo \"%% product $(cat /sys/class/dmi/id/product_name 2>/dev/null)\"; "
    "echo \"%% vendor $(cat /sys/class/dmi/id/sys_vendor 2>/dev/null)\"; "
    "echo \"%% hypervisor-flag $(grep -c '^flags.* hypervisor' /proc/cpuinfo 2>/dev/null)\"; "
    "[ -d /proc/xen ] && echo '%% xen'; true"
)

# (substring of the DMI product name or vendor, lower case) → systemd-detect-virt's name for it
DMI_NAMES: tuple[tuple[str, str], ...] = (
    ("vmware", "vmware"), ("virtualbox", "oracle"), ("kvm", "kvm"), ("qemu", "qemu"),
    ("standard pc (", "kvm"), ("openstack", "kvm"), ("rhev", "kvm"), ("ovirt", "kvm"),
    ("google compute engine", "google"), ("amazon ec2", "amazon"), ("hvm domu", "xen"), ("xen", "xen"),
    ("microsoft corporation", "microsoft"), ("virtual machine", "microsoft"), ("parallels", "parallels"),
    ("bochs", "bochs"), ("firecracker", "kvm"), ("alibaba cloud", "alibaba"),
)


def parse(text: str) -> str | Partial:
    """systemd-detect-virt's vocabulary: kvm, vmware, xen, microsoft, oracle, lxc, docker, ... or none."""
    fields = {}
    for line in text.splitlines():
        if line.startswith("%% "):
            key, _, value = line[3:].partition(" ")
            fields[key] = value.strip()
    detected = fields.get("detect", "")
    if detected:
        return detected
    dmi = f"{fields.get('product', '')} | {fields.get('vendor', '')}".lower()
    for needle, name in DMI_NAMES:
        if needle in dmi:
            return name
    if "xen" in fields:
        return "xen"
    if fields.get("hypervisor-flag", "0") not in ("", "0"):
        return Partial("unknown", "the CPU runs under a hypervisor, but its DMI names are not readable or known")
    if dmi.strip(" |"):
        return "none"
    return Partial("none", "no systemd-detect-virt and no DMI names: probably physical, not confirmed")
