from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.cloud import ec2_client, load_cloud_settings
from orchestrator.errors import CloudError
from orchestrator.workspace import init_workspace

CLOUD = """
[cloud]
ec2_endpoint = "http://127.0.0.1:5000"
region = "id-jkt-1"
subnet_id = "subnet-1"
image_id = "ami-1"
instance_type = "t3.small"
"""


@pytest.fixture(autouse=True)
def _no_env_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)


def test_toml_section_with_credentials_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = init_workspace(tmp_path)
    ws.config_path.write_text(ws.config_path.read_text() + CLOUD)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKID")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret")
    settings = load_cloud_settings(ws)
    assert settings.region == "id-jkt-1" and settings.instance_type == "t3.small"
    assert "very-secret" not in repr(settings) and "very-secret" not in settings.model_dump_json()
    assert settings.credential_env() == {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "very-secret"}
    client = ec2_client(settings)
    assert client.meta.endpoint_url == "http://127.0.0.1:5000" and client.meta.region_name == "id-jkt-1"


def test_credentials_in_the_file_are_refused(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path)
    ws.config_path.write_text(ws.config_path.read_text() + CLOUD + 'aws_secret_access_key = "oops"\n')
    with pytest.raises(CloudError, match="credentials") as info:
        load_cloud_settings(ws)
    assert "oops" not in str(info.value)


def test_lab_cloud_is_the_fallback(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path)
    ws.lab_dir.mkdir(parents=True)
    (ws.lab_dir / "lab.json").write_text(json.dumps({"cloud": {
        "ec2_endpoint": "http://127.0.0.1:7000", "s3_endpoint": "http://127.0.0.1:8333", "region": "us-east-1",
        "access_key": "lab", "secret_key": "lab-secret", "subnet_id": "subnet-9", "image_id": "ami-9"}}))
    settings = load_cloud_settings(ws)
    assert settings.subnet_id == "subnet-9" and settings.origin.endswith("lab.json")
    assert settings.secret_values() == ("lab-secret",)
    assert settings.credential_env() == {"AWS_ACCESS_KEY_ID": "lab", "AWS_SECRET_ACCESS_KEY": "lab-secret"}


def test_no_cloud_at_all_has_a_hint(tmp_path: Path) -> None:
    with pytest.raises(CloudError) as info:
        load_cloud_settings(init_workspace(tmp_path))
    assert "lab up" in info.value.hint
