"""Turning ansible-runner events into small, redacted records fit for the store."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "********"
SECRET_KEY_RE = re.compile(r"secret|password|passwd|token|credential|private_key|access_key", re.IGNORECASE)
TAIL_CHARS = 600
SECRET_ENV_RE = re.compile(r"secret|password|passwd|token", re.IGNORECASE)
HOST_EVENTS = frozenset({"runner_on_ok", "runner_on_failed", "runner_on_unreachable", "runner_on_skipped",
                         "runner_item_on_failed"})


def secret_env_values(env: Mapping[str, str]) -> tuple[str, ...]:
    """The values of environment variables that hold secrets (not e.g. an access key id)."""
    return tuple(v for k, v in env.items() if v and SECRET_ENV_RE.search(k))


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """A copy of ``value`` with secret-looking keys masked and every secret value cut out of strings."""
    needles = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))
    return _redact(value, needles)


def _redact(value: Any, needles: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {str(k): (MASK if SECRET_KEY_RE.search(str(k)) else _redact(v, needles)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v, needles) for v in value]
    if isinstance(value, str):
        for needle in needles:
            value = value.replace(needle, MASK)
        return value
    return value


def tail(text: object, limit: int = TAIL_CHARS) -> str:
    s = "" if text is None else str(text)
    return s if len(s) <= limit else "…" + s[-limit:]


def _status(kind: str, res: dict[str, Any]) -> str:
    if kind == "runner_on_ok":
        return "changed" if res.get("changed") else "ok"
    return kind.removeprefix("runner_on_").removeprefix("runner_item_on_")


def error_text(res: dict[str, Any]) -> str:
    """The most useful short explanation of a failed task result."""
    parts = [str(res.get("msg") or "").strip()]
    for key in ("stderr", "stdout", "module_stderr", "module_stdout"):
        if res.get(key):
            parts.append(f"{key}: {tail(res[key], 300)}")
    if res.get("rc") not in (None, 0):
        parts.append(f"rc={res['rc']}")
    text = "; ".join(p for p in parts if p)
    return text or "task failed (no message)"


def compact(event: dict[str, Any]) -> dict[str, Any] | None:
    """The useful fields of one ansible-runner event, or None for events not worth storing."""
    kind = str(event.get("event", ""))
    data = event.get("event_data") or {}
    if kind == "playbook_on_stats":
        return {"event": kind, **{k: data.get(k) or {} for k in ("ok", "changed", "failures", "dark",
                                                                  "skipped")}}
    if kind not in HOST_EVENTS:
        return None
    res = data.get("res") or {}
    if not isinstance(res, dict):
        res = {"msg": str(res)}
    record: dict[str, Any] = {"event": kind, "host": data.get("host"), "task": data.get("task"),
                              "status": _status(kind, res)}
    if kind not in {"runner_on_ok", "runner_on_skipped"}:
        record["msg"] = tail(error_text(res))
    else:
        for key in ("msg", "stdout"):
            if res.get(key):
                record[key] = tail(res[key], 300)
    delegated = (res.get("_ansible_delegated_vars") or {}).get("ansible_host")
    if delegated:
        record["delegated_to"] = delegated
    return record
