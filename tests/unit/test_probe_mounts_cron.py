"""df and crontab parsers against real captures (jc's parsed JSON as the oracle)."""

from __future__ import annotations

import json

import pytest
from shared_fixtures import jc_fixture

from discovery.errors import ParseError
from discovery.probes import cron, mounts
from discovery.probes.partial import Partial


def test_df_capture_matches_jc() -> None:
    path = jc_fixture("centos-7.7/df.out")
    oracle = json.loads(path.with_suffix(".json").read_text())
    found = mounts.parse(path.read_text())
    assert [(m.device, m.mountpoint, m.size_mb, m.used_mb, m.available_mb, m.use_percent) for m in found] == [
        (r["filesystem"], r["mounted_on"], r["1k_blocks"] // 1024, r["used"] // 1024, r["available"] // 1024,
         r["use_percent"]) for r in oracle]


def test_df_posix_with_type_and_spaces() -> None:
    text = ("Filesystem     Type 1024-blocks    Used Available Capacity Mounted on\n"
            "/dev/vda       ext4   264212732 24905940 81484924      24% /\n"
            "//nas/share    cifs     1048576   524288   524288      50% /mnt/my share\n")
    found = mounts.parse(text)
    assert [(m.fstype, m.mountpoint, m.size_mb, m.use_percent) for m in found] == [
        ("ext4", "/", 258020, 24), ("cifs", "/mnt/my share", 1024, 50)]


def test_df_without_header_fails() -> None:
    with pytest.raises(ParseError):
        mounts.parse("")


def test_crontab_capture_matches_jc() -> None:
    path = jc_fixture("centos-7.7/crontab.out")
    oracle = json.loads(path.with_suffix(".json").read_text())["schedule"]
    found = cron.parse_crontab(path.read_text(), user="maverick")
    expected = sorted(" ".join(r["command"].split()) for r in oracle)
    assert sorted(" ".join(j.command.split()) for j in found) == expected
    assert {j.schedule for j in found if j.schedule.startswith("@")} == {
        "@" + r["occurrence"] for r in oracle if "occurrence" in r}


def test_cron_sections_system_user_and_unreadable_spool() -> None:
    text = ("%% system /etc/crontab\nSHELL=/bin/sh\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n"
            "%% system /etc/cron.d/backup\n@daily postgres /usr/local/bin/pg_backup\n"
            "%% user app\n*/5 * * * * /opt/app/bin/poll\n"
            "%% unreadable /var/spool/cron/crontabs\n")
    found = cron.parse(text)
    assert isinstance(found, Partial)
    assert {(j.user, j.schedule, j.command) for j in found.value} == {
        ("root", "17 * * * *", "cd / && run-parts --report /etc/cron.hourly"),
        ("postgres", "@daily", "/usr/local/bin/pg_backup"), ("app", "*/5 * * * *", "/opt/app/bin/poll")}


def test_cron_readable_spool_is_complete() -> None:
    found = cron.parse("%% user root\n%% spool /var/spool/cron/crontabs/www\n0 1 * * * /bin/true\n")
    assert isinstance(found, tuple)
    assert [(j.user, j.source) for j in found] == [("www", "/var/spool/cron/crontabs/www")]
