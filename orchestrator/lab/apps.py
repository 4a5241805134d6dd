"""The lab's service program: one process per lab service, standard library only.

Run inside a lab host (its network, mount and UTS namespaces) as ``python -I -S apps.py run ...`` (one
service, used by the host's ``/etc/init.d/<service>``) or ``... boot SPEC.json`` (all of a host's services,
forked from one process so they share memory). Each service process renames itself (``/proc/self/comm``
and its command line) to the real daemon's name, listens on its port, answers ``GET /`` with its name and
the sha256 of its data files, and keeps long-lived TCP connections to its peers, reconnecting with
back-off when a peer goes away. A service may also have a UDP port (an unconnected socket it reads and
drops, as a syslog or DNS server's) and UDP peers: a connected UDP socket per peer that sends one datagram
(a syslog line) every few seconds, as nginx's ``error_log syslog:server=...`` does. Peers are names:
each (re)connect resolves the name afresh through the host's /etc/hosts, which is the lab's shared name
record (``names``), so when a migration points a name at a new address, the dependents' next reconnect goes there.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import json
import os
import selectors
import signal
import socket
import sys
import time
from pathlib import Path

MAX_BACKOFF = 4.0
UDP_INTERVAL = 5.0  # seconds between a UDP client's datagrams (and re-resolutions of its peer's name)


def set_process_name(name: str) -> None:
    """Show ``name`` as this process's comm (ss -p, ps) and command line (netstat -p)."""
    with open("/proc/self/comm", "w") as fh:
        fh.write(name[:15])
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    start, end = int(fields[45]), int(fields[46])  # arg_start / arg_end (fields 48/49)
    title = name.encode()[: end - start - 1]
    try:
        with open("/proc/self/mem", "r+b", buffering=0) as mem:
            mem.seek(start)
            mem.write(title + b"\0" * (end - start - len(title)))
    except OSError:
        pass  # the command line keeps python's; comm is what ss shows


def data_digest(data_dir: str) -> tuple[str, int]:
    """sha256 over the data files (relative path + content, sorted) and how many files there are."""
    digest, count = hashlib.sha256(), 0
    root = Path(data_dir)
    if data_dir and root.is_dir():
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes())
            count += 1
    return digest.hexdigest(), count


def response(spec: dict[str, object]) -> bytes:
    sha, count = data_digest(str(spec["data"]))
    body = (f"service={spec['process']}\nhost={socket.gethostname()}\nport={spec['port']}\n"
            f"data_dir={spec['data']}\nfiles={count}\nsha256={sha}\n").encode()
    head = f"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


class Service:
    """One service's event loop: a listener plus long-lived client connections."""

    def __init__(self, spec: dict[str, object], listener: socket.socket | None,
                 udp_listener: socket.socket | None = None) -> None:
        self.spec = spec
        self.sel = selectors.DefaultSelector()
        self.buffers: dict[socket.socket, bytes] = {}
        self.peers: dict[tuple[str, int], socket.socket | None] = {}
        self.retry: dict[tuple[str, int], tuple[float, float]] = {}  # target -> (when, backoff)
        connects = spec.get("connects") or []
        assert isinstance(connects, list)
        for host, port in connects:
            self.peers[(str(host), int(port))] = None
            self.retry[(str(host), int(port))] = (0.0, 0.5)
        udp_connects = spec.get("udp_connects") or []
        assert isinstance(udp_connects, list)
        # target -> (connected socket or None, the address it is connected to)
        self.udp_peers: dict[tuple[str, int], tuple[socket.socket | None, object]] = {
            (str(host), int(port)): (None, None) for host, port in udp_connects}
        self.udp_due = 0.0
        if listener is not None:
            self.sel.register(listener, selectors.EVENT_READ, "listen")
        if udp_listener is not None:
            self.sel.register(udp_listener, selectors.EVENT_READ, "udp")

    def run(self) -> None:
        while True:
            self._connect_due()
            self._udp_send_due()
            for key, _ in self.sel.select(timeout=0.5):
                self._event(key)

    def _udp_send_due(self) -> None:
        """Each UDP peer: resolve its name, (re)connect when the address changed or the last send failed,
        send one syslog line."""
        now = time.monotonic()
        if not self.udp_peers or now < self.udp_due:
            return
        self.udp_due = now + UDP_INTERVAL
        line = f"<14>{socket.gethostname()} {self.spec['process']}: lab heartbeat".encode()
        for target in list(self.udp_peers):
            self.udp_peers[target] = self._udp_send(target, line)

    def _udp_send(self, target: tuple[str, int], line: bytes) -> tuple[socket.socket | None, object]:
        old, connected_to = self.udp_peers[target]
        try:
            addr = socket.getaddrinfo(target[0], target[1], socket.AF_INET, socket.SOCK_DGRAM)[0][4]
        except OSError:
            return old, connected_to
        sock = old
        try:
            if sock is None or addr != connected_to:
                if old is not None:
                    old.close()
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sock.setblocking(False)
                sock.connect(addr)
            sock.send(line)
        except OSError:  # e.g. ECONNREFUSED after an ICMP port unreachable: a new socket next time
            if sock is not None:
                sock.close()
            return None, None
        return sock, addr

    def _event(self, key: selectors.SelectorKey) -> None:
        sock = key.fileobj
        assert isinstance(sock, socket.socket)
        if key.data == "udp":
            with contextlib.suppress(OSError):
                sock.recv(65535)
        elif key.data == "listen":
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            conn.setblocking(False)
            self.buffers[conn] = b""
            self.sel.register(conn, selectors.EVENT_READ, "server")
        elif key.data == "server":
            self._serve(sock)
        else:
            self._client_event(sock, key.data)

    def _serve(self, conn: socket.socket) -> None:
        try:
            chunk = conn.recv(4096)
        except OSError:
            chunk = b""
        data = self.buffers.get(conn, b"") + chunk
        if chunk and b"\n\r\n" not in data and b"\n\n" not in data:
            self.buffers[conn] = data[-8192:]
            return
        if chunk:
            try:
                conn.setblocking(True)
                conn.settimeout(2.0)
                conn.sendall(response(self.spec))
            except OSError:
                pass
        self.sel.unregister(conn)
        self.buffers.pop(conn, None)
        conn.close()

    def _connect_due(self) -> None:
        now = time.monotonic()
        for target, sock in self.peers.items():
            when, _ = self.retry[target]
            if sock is None and when <= now:
                self._connect(target)

    def _connect(self, target: tuple[str, int]) -> None:
        try:
            addr = socket.getaddrinfo(target[0], target[1], socket.AF_INET, socket.SOCK_STREAM)[0][4]
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        except OSError:
            self._failed(target)
            return
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        err = sock.connect_ex(addr)
        if err not in (0, 115):  # EINPROGRESS
            sock.close()
            self._failed(target)
            return
        self.peers[target] = sock
        self.sel.register(sock, selectors.EVENT_WRITE, target)

    def _client_event(self, sock: socket.socket, target: tuple[str, int]) -> None:
        if self.sel.get_key(sock).events & selectors.EVENT_WRITE:
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                self.sel.modify(sock, selectors.EVENT_READ, target)
                self.retry[target] = (0.0, 0.5)
                return
        else:
            try:
                if sock.recv(4096):
                    return
            except OSError:
                pass
        self.sel.unregister(sock)
        sock.close()
        self.peers[target] = None
        self._failed(target)

    def _failed(self, target: tuple[str, int]) -> None:
        _, backoff = self.retry[target]
        self.retry[target] = (time.monotonic() + backoff, min(backoff * 2, MAX_BACKOFF))


def listen(port: int) -> socket.socket | None:
    if not port:
        return None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", port))  # noqa: S104 - the host's own network namespace
    sock.listen(128)
    sock.setblocking(False)
    return sock


def listen_udp(port: int) -> socket.socket | None:
    if not port:
        return None
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", port))  # noqa: S104 - the host's own network namespace
    sock.setblocking(False)
    return sock


def pidfile(spec: dict[str, object]) -> Path:
    return Path("/var/run") / f"{spec['name']}.pid"


def running(spec: dict[str, object]) -> bool:
    try:
        os.kill(int(pidfile(spec).read_text().strip()), 0)
    except (OSError, ValueError):
        return False
    return True


def daemonize(spec: dict[str, object], listener: socket.socket | None,
              udp_listener: socket.socket | None = None) -> None:
    """Fork a detached process that serves ``spec``; the caller returns at once."""
    if os.fork():
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    try:
        log = os.open(f"/var/log/{spec['name']}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        log = os.open(os.devnull, os.O_WRONLY)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    set_process_name(str(spec["process"]))
    pid_path = pidfile(spec)
    pid_path.write_text(f"{os.getpid()}\n")
    signal.signal(signal.SIGTERM, lambda *_: _exit(pid_path))
    try:
        Service(spec, listener, udp_listener).run()
    finally:
        _exit(pid_path)


def _exit(pid_path: Path) -> None:
    try:
        if pid_path.read_text().strip() == str(os.getpid()):
            pid_path.unlink()
    except OSError:
        pass
    os._exit(0)


def start(spec: dict[str, object]) -> int:
    if running(spec):
        print(f"{spec['name']} is already running")
        return 0
    try:
        listener = listen(int(str(spec["port"])))
        udp_listener = listen_udp(int(str(spec.get("udp_port") or 0)))
    except OSError as exc:
        print(f"{spec['name']}: cannot listen on port {spec['port']} (udp {spec.get('udp_port') or '-'}): {exc}",
              file=sys.stderr)
        return 1
    daemonize(spec, listener, udp_listener)
    for sock in (listener, udp_listener):
        if sock is not None:
            sock.close()  # the daemon holds its own copy
    os.wait()
    for _ in range(100):
        if running(spec):
            print(f"{spec['name']} started")
            return 0
        time.sleep(0.02)
    print(f"{spec['name']} did not start; see /var/log/{spec['name']}.log", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lab-service")
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run")
    run.add_argument("--name", required=True)
    run.add_argument("--process", required=True)
    run.add_argument("--port", type=int, default=0)
    run.add_argument("--data", default="")
    run.add_argument("--connect", action="append", default=[])
    run.add_argument("--udp-port", type=int, default=0)
    run.add_argument("--udp-connect", action="append", default=[])
    boot = sub.add_parser("boot")
    boot.add_argument("spec_file")
    args = parser.parse_args(argv)
    if args.cmd == "boot":
        specs = json.loads(Path(args.spec_file).read_text())
        gc.freeze()  # the forked services share these pages
        return max([start(spec) for spec in specs], default=0)
    connects = [[h, int(p)] for h, p in (c.rsplit(":", 1) for c in args.connect)]
    udp_connects = [[h, int(p)] for h, p in (c.rsplit(":", 1) for c in args.udp_connect)]
    return start({"name": args.name, "process": args.process, "port": args.port, "data": args.data,
                  "connects": connects, "udp_port": args.udp_port, "udp_connects": udp_connects})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
