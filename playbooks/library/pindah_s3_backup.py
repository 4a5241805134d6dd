#!/usr/bin/python
"""Ansible module: a server's data to S3-compatible object storage, restore-tested against its manifest."""

from __future__ import annotations

DOCUMENTATION = r"""
module: pindah_s3_backup
short_description: Back up a server's data directories to S3 and prove they restore; check or prune backups
description:
  - C(mode=backup) packs the data directories from the controller's copy (I(staging), laid out as
    C(<staging>/<absolute path>)) into C(data.tar.gz), checking every file against I(manifest) (computed on
    the source), uploads it and C(manifest.json) under I(prefix), then downloads the archive again and checks
    every file's sha256 against the manifest (the restore test). Only then it writes C(restore-verified.json).
  - C(mode=verify) checks that a restore-verified backup is under I(prefix) whose manifest has the digest
    I(digest) (without I(digest): the digest its restore proof names).
  - C(mode=prune) keeps the newest I(keep) backups (runs) under I(server_prefix) and deletes the older ones.
  - Credentials come only from the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) or a profile.
options:
  mode: {type: str, choices: [backup, verify, prune], default: backup}
  endpoint_url: {type: str, required: true}
  region: {type: str, required: true}
  bucket: {type: str, required: true}
  prefix: {type: str, required: false, description: "the backup's key prefix (plan/server/run)"}
  server_prefix: {type: str, required: false, description: the server's key prefix (prune)}
  staging: {type: path, required: false}
  dirs: {type: list, elements: str, default: []}
  manifest: {type: dict, required: false, description: "path -> {sha256, size} from the source"}
  digest: {type: str, required: false}
  keep: {type: int, default: 0, description: "backups kept per server by prune (0 = all)"}
"""

RETURN = r"""
prefix: {type: str}
digest: {type: str, description: sha256 of the canonical manifest}
files: {type: int}
bytes: {type: int}
verified: {type: bool, description: the restore test passed}
archive_bytes: {type: int}
seconds: {type: float}
deleted: {type: list, description: prefixes removed by prune}
"""

import hashlib
import json
import os
import tarfile
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

ARCHIVE, MANIFEST, VERIFIED = "data.tar.gz", "manifest.json", "restore-verified.json"
CHUNK = 1 << 20


class BackupError(Exception):
    pass


def manifest_digest(files):
    canon = json.dumps({p: f["sha256"] for p, f in files.items()}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()


def sha256_stream(fh):
    digest = hashlib.sha256()
    for chunk in iter(lambda: fh.read(CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def compare(expected, got, what):
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    differ = sorted(p for p in set(expected) & set(got) if expected[p]["sha256"] != got[p])
    if missing or extra or differ:
        sample = (missing + extra + differ)[:5]
        raise BackupError(f"{what}: {len(missing)} missing, {len(extra)} unexpected, {len(differ)} different "
                          f"file(s), e.g. {', '.join(sample)}")


def pack(staging, dirs, manifest, archive):
    """The archive of the staged copy; every packed file must match the source's manifest."""
    got = {}
    with tarfile.open(archive, "w:gz") as tar:
        for data_dir in dirs:
            root = os.path.join(staging, data_dir.lstrip("/"))
            for top, dirnames, filenames in os.walk(root):
                dirnames.sort()
                for name in sorted(filenames):
                    local = os.path.join(top, name)
                    if os.path.islink(local) or not os.path.isfile(local):
                        continue
                    path = "/" + os.path.relpath(local, staging)
                    with open(local, "rb") as fh:
                        got[path] = sha256_stream(fh)
                    tar.add(local, arcname=path.lstrip("/"), recursive=False)
    compare(manifest, got, "the copy packed for the backup differs from the source (data changed during backup?)")


def restore_test(s3, bucket, key, manifest, workdir):
    """Download the archive again and check every file in it against the manifest."""
    with tempfile.NamedTemporaryFile(dir=workdir, suffix=".restore") as tmp:
        s3.download_fileobj(bucket, key, tmp)
        tmp.flush()
        got = {}
        with tarfile.open(tmp.name, "r:gz") as tar:
            for member in tar:
                if member.isfile():
                    got["/" + member.name] = sha256_stream(tar.extractfile(member))
    compare(manifest, got, "restore test failed: the downloaded backup differs from the source")


def ensure_bucket(s3, bucket):
    import botocore.exceptions

    try:
        s3.head_bucket(Bucket=bucket)
    except botocore.exceptions.ClientError:
        s3.create_bucket(Bucket=bucket)


def backup(s3, p):
    manifest = p["manifest"] or {}
    digest = manifest_digest(manifest)
    started = time.monotonic()
    ensure_bucket(s3, p["bucket"])
    workdir = os.path.dirname(p["staging"].rstrip("/")) or "."
    with tempfile.NamedTemporaryFile(dir=workdir, suffix=".tar.gz") as archive:
        pack(p["staging"], p["dirs"], manifest, archive.name)
        size = os.path.getsize(archive.name)
        key = f"{p['prefix']}/{ARCHIVE}"
        s3.upload_file(archive.name, p["bucket"], key)
    body = {"digest": digest, "files": manifest, "dirs": p["dirs"]}
    s3.put_object(Bucket=p["bucket"], Key=f"{p['prefix']}/{MANIFEST}", Body=json.dumps(body, sort_keys=True).encode())
    restore_test(s3, p["bucket"], key, manifest, workdir)
    total = sum(int(f.get("size", 0)) for f in manifest.values())
    proof = {"digest": digest, "files": len(manifest), "bytes": total, "archive_bytes": size,
             "verified_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    s3.put_object(Bucket=p["bucket"], Key=f"{p['prefix']}/{VERIFIED}", Body=json.dumps(proof).encode())
    return {"changed": True, "prefix": p["prefix"], "digest": digest, "files": len(manifest), "bytes": total,
            "archive_bytes": size, "verified": True, "seconds": round(time.monotonic() - started, 3)}


def read_json(s3, bucket, key):
    import botocore.exceptions

    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except botocore.exceptions.ClientError as exc:
        raise BackupError(f"no verified backup: s3://{bucket}/{key} cannot be read "
                          f"({exc.response.get('Error', {}).get('Code', 'error')})") from None


def verify(s3, p):
    if not p.get("prefix"):
        raise BackupError("no verified backup recorded for this server: run the backup phase first")
    proof = read_json(s3, p["bucket"], f"{p['prefix']}/{VERIFIED}")
    stored = read_json(s3, p["bucket"], f"{p['prefix']}/{MANIFEST}")
    actual = manifest_digest(stored.get("files") or {})
    expected = p.get("digest") or actual  # without a recorded digest: the stored proof must match its manifest
    if not (proof.get("digest") == actual == expected):
        raise BackupError(f"backup under s3://{p['bucket']}/{p['prefix']} does not match the recorded manifest "
                          f"digest {expected}")
    return {"changed": False, "prefix": p["prefix"], "digest": actual, "files": proof.get("files", 0),
            "bytes": proof.get("bytes", 0), "verified": True}


def prune(s3, p):
    base = p["server_prefix"].rstrip("/") + "/"
    runs = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=p["bucket"], Prefix=base):
        for obj in page.get("Contents", []):
            run = obj["Key"][len(base):].split("/", 1)[0]
            runs.setdefault(run, []).append(obj)
    if p["keep"] <= 0 or len(runs) <= p["keep"]:
        return {"changed": False, "deleted": []}
    newest = sorted(runs, key=lambda r: max(o["LastModified"] for o in runs[r]), reverse=True)
    doomed = newest[p["keep"]:]
    for run in doomed:
        keys = [{"Key": o["Key"]} for o in runs[run]]
        s3.delete_objects(Bucket=p["bucket"], Delete={"Objects": keys})
    return {"changed": True, "deleted": [base + r for r in sorted(doomed)]}


def main():
    module = AnsibleModule(argument_spec={
        "mode": {"type": "str", "choices": ["backup", "verify", "prune"], "default": "backup"},
        "endpoint_url": {"type": "str", "required": True},
        "region": {"type": "str", "required": True},
        "bucket": {"type": "str", "required": True},
        "prefix": {"type": "str", "required": False},
        "server_prefix": {"type": "str", "required": False},
        "staging": {"type": "path", "required": False},
        "dirs": {"type": "list", "elements": "str", "default": []},
        "manifest": {"type": "dict", "required": False},
        "digest": {"type": "str", "required": False},
        "keep": {"type": "int", "default": 0},
    }, supports_check_mode=False)
    p = module.params
    try:
        import boto3
        import botocore.exceptions
    except ImportError:
        module.fail_json(msg="boto3 is not importable by this interpreter; run the module on the controller")
    from botocore.config import Config

    # an object store may refuse writes while it grows its volumes: retry with back-off, not fail
    s3 = boto3.client("s3", endpoint_url=p["endpoint_url"], region_name=p["region"],
                      config=Config(retries={"max_attempts": 8, "mode": "standard"}))
    action = {"backup": backup, "verify": verify, "prune": prune}[p["mode"]]
    try:
        module.exit_json(**action(s3, p))
    except BackupError as exc:
        module.fail_json(msg=str(exc))
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        module.fail_json(msg=f"S3 API at {p['endpoint_url']} failed: {exc}")
    except (OSError, tarfile.TarError) as exc:
        module.fail_json(msg=f"backup {p['mode']} failed: {exc}")


if __name__ == "__main__":
    main()
