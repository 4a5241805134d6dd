"""Cloud settings (the national cloud's EC2/S3-compatible endpoints) and the boto3 client factory.

Settings come from ``pindah.toml`` ``[cloud]``; credentials never come from that file but from the
environment (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``) or a profile. When the section is
absent and a lab is up in the workspace, the lab's cloud section (``.pindah/lab/lab.json``) is used.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from orchestrator.errors import CloudError
from orchestrator.workspace import Workspace

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

SECRET_FIELDS = ("aws_access_key_id", "aws_secret_access_key")
_FILE_FORBIDDEN = {"access_key", "secret_key", "aws_access_key_id", "aws_secret_access_key",
                   "access_key_id", "secret_access_key"}


class CloudSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ec2_endpoint: str
    s3_endpoint: str | None = None
    region: str
    subnet_id: str
    image_id: str
    instance_type: str = "t3.micro"
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    origin: str = "pindah.toml"

    def credential_env(self) -> dict[str, str]:
        """The credentials as environment variables for a child process (empty if from a profile)."""
        env: dict[str, str] = {}
        if self.aws_access_key_id is not None:
            env["AWS_ACCESS_KEY_ID"] = self.aws_access_key_id.get_secret_value()
        if self.aws_secret_access_key is not None:
            env["AWS_SECRET_ACCESS_KEY"] = self.aws_secret_access_key.get_secret_value()
        return env

    def secret_values(self) -> tuple[str, ...]:
        secret = self.aws_secret_access_key
        return (secret.get_secret_value(),) if secret is not None else ()


def _env_credentials() -> dict[str, str]:
    found = {}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        value = os.environ.get(name)
        if value:
            found[name.lower()] = value
    return found


def _from_toml(section: dict[str, Any], origin: str) -> CloudSettings:
    bad = sorted(_FILE_FORBIDDEN & set(section))
    if bad:
        raise CloudError(f"{origin} [cloud] holds credentials ({', '.join(bad)})",
                         hint="remove them from the file; set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY "
                         "in the environment instead")
    try:
        return CloudSettings(**section, **_env_credentials(), origin=origin)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CloudError(f"{origin} [cloud] is invalid: {'.'.join(map(str, first['loc']))}: {first['msg']}",
                         hint="see the commented [cloud] example that 'pindah init' writes") from None


def _from_lab(raw: dict[str, Any], origin: str) -> CloudSettings:
    cloud = raw.get("cloud")
    if not isinstance(cloud, dict):
        raise CloudError(f"{origin} has no 'cloud' section", hint="re-run 'pindah lab up'")
    key_id = cloud.get("access_key_id") or cloud.get("aws_access_key_id") or cloud.get("access_key")
    secret = (cloud.get("secret_access_key") or cloud.get("aws_secret_access_key")
              or cloud.get("secret_key"))
    creds = _env_credentials() or {k: str(v) for k, v in (("aws_access_key_id", key_id),
                                                          ("aws_secret_access_key", secret)) if v}
    try:
        return CloudSettings(
            ec2_endpoint=cloud["ec2_endpoint"], s3_endpoint=cloud.get("s3_endpoint"),
            region=cloud.get("region", "us-east-1"), subnet_id=cloud["subnet_id"], image_id=cloud["image_id"],
            instance_type=cloud.get("instance_type", "t3.micro"), origin=origin, **creds)
    except (KeyError, ValidationError) as exc:
        raise CloudError(f"{origin} has an incomplete cloud section ({type(exc).__name__}: "
                         f"{exc if isinstance(exc, KeyError) else exc.error_count()})",
                         hint="re-run 'pindah lab up'") from None


def load_cloud_settings(ws: Workspace) -> CloudSettings:
    """The cloud settings of this workspace: ``[cloud]`` in pindah.toml, else the running lab's."""
    section = ws.config().get("cloud")
    if isinstance(section, dict):
        return _from_toml(section, str(ws.config_path))
    lab_json = ws.lab_dir / "lab.json"
    if lab_json.is_file():
        try:
            raw = json.loads(lab_json.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CloudError(f"{lab_json} cannot be read: {exc}", hint="re-run 'pindah lab up'") from None
        return _from_lab(raw, str(lab_json))
    raise CloudError("no cloud configured: pindah.toml has no [cloud] section and no lab is up",
                     hint="add a [cloud] section to pindah.toml, or run 'pindah lab up'")


def ec2_client(settings: CloudSettings) -> EC2Client:
    """A boto3 EC2 client for the configured endpoint (credentials: settings, else environment/profile)."""
    import boto3

    key_id, secret = settings.aws_access_key_id, settings.aws_secret_access_key
    client: EC2Client = boto3.client(
        "ec2", endpoint_url=settings.ec2_endpoint, region_name=settings.region,
        aws_access_key_id=key_id.get_secret_value() if key_id else None,
        aws_secret_access_key=secret.get_secret_value() if secret else None)
    return client
