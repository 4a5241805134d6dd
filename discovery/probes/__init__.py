"""Probes: each is a POSIX sh command plus a pure ``parse(text)``; only the transport touches SSH."""
