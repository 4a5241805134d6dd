"""The lab: a simulated estate of real sshd hosts, an S3- and an EC2-compatible endpoint on one machine.

``lab_up`` builds it into a state dir (a workspace's ``.pindah/lab``), ``lab_status`` reports on it,
``lab_down`` removes everything it made; ``load_manifest`` reads its ground truth (``lab.json``).
"""

from __future__ import annotations

from orchestrator.lab.estate import FULL_HOSTS, existing, lab_down, lab_up
from orchestrator.lab.manifest import LabHost, LabManifest, load_manifest
from orchestrator.lab.status import LabStatus, cloud_hosts, lab_status

__all__ = ["FULL_HOSTS", "LabHost", "LabManifest", "LabStatus", "cloud_hosts", "existing", "lab_down", "lab_status",
           "lab_up", "load_manifest"]
