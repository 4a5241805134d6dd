#!/usr/bin/python
"""Ansible module: what a host holds in its data directories (sizes, free space, checksums) and its OS."""

from __future__ import annotations

DOCUMENTATION = r"""
module: pindah_host_data
short_description: Sizes, free space and a sha256 manifest of a server's data directories, and its OS
description:
  - Runs on the source or the target; standard library only. Reads C(/etc/os-release) (or the older
    release files) for the OS id and version.
  - The manifest maps every regular file under the directories (absolute path) to its sha256 and size;
    C(digest) is the sha256 of the canonical JSON of path -> sha256, the same digest the backup module
    computes, so two manifests compare by digest.
options:
  dirs: {type: list, elements: str, required: true}
  checksums: {type: bool, default: true, description: compute the manifest (else only sizes)}
  return_files: {type: bool, default: false, description: return the whole manifest, not only its digest}
"""

RETURN = r"""
os_id: {type: str}
os_version: {type: str}
dirs: {type: list, description: "per directory: path, exists, bytes, files, free_bytes"}
total_bytes: {type: int}
total_files: {type: int}
digest: {type: str, description: sha256 of the canonical manifest (empty without checksums)}
files: {type: dict, description: "path -> {sha256, size} (only with return_files)"}
"""

import hashlib
import json
import os

from ansible.module_utils.basic import AnsibleModule

CHUNK = 1 << 20


def os_release():
    fields = {}
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    key, sep, value = line.strip().partition("=")
                    if sep:
                        fields[key] = value.strip().strip('"').strip("'")
            break
        except OSError:
            continue
    if not fields.get("ID"):
        for path, os_id in (("/etc/redhat-release", "rhel"), ("/etc/SuSE-release", "sles")):
            try:
                with open(path, encoding="utf-8") as fh:
                    text = fh.read().lower()
            except OSError:
                continue
            os_id = "centos" if "centos" in text else os_id
            version = "".join(ch if ch.isdigit() or ch == "." else " " for ch in text).split()
            return os_id, (version[0] if version else "")
    return fields.get("ID", ""), fields.get("VERSION_ID", "")


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def walk(root, checksums, files):
    count = size = 0
    for top, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(top, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            st = os.stat(path)
            count += 1
            size += st.st_size
            if checksums:
                files[path] = {"sha256": sha256(path), "size": st.st_size}
    return count, size


def manifest_digest(files):
    canon = json.dumps({p: f["sha256"] for p, f in files.items()}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()


def main():
    module = AnsibleModule(argument_spec={
        "dirs": {"type": "list", "elements": "str", "required": True},
        "checksums": {"type": "bool", "default": True},
        "return_files": {"type": "bool", "default": False},
    }, supports_check_mode=True)
    files, dirs = {}, []
    for path in module.params["dirs"]:
        if not os.path.isabs(path):
            module.fail_json(msg=f"data dir {path!r} is not absolute")
        exists = os.path.isdir(path)
        count, size = walk(path, module.params["checksums"], files) if exists else (0, 0)
        probe = path
        while not os.path.exists(probe):
            probe = os.path.dirname(probe)
        st = os.statvfs(probe)
        dirs.append({"path": path, "exists": exists, "files": count, "bytes": size,
                     "free_bytes": st.f_bavail * st.f_frsize})
    os_id, os_version = os_release()
    result = {"changed": False, "os_id": os_id, "os_version": os_version, "dirs": dirs,
              "total_bytes": sum(d["bytes"] for d in dirs), "total_files": sum(d["files"] for d in dirs),
              "digest": manifest_digest(files) if module.params["checksums"] else ""}
    if module.params["return_files"]:
        result["files"] = files
    module.exit_json(**result)


if __name__ == "__main__":
    main()
