"""The lab service program: data digest, HTTP answer, long-lived connections that heal."""

from __future__ import annotations

import hashlib
import socket
import threading
import time

from orchestrator.lab.apps import Service, data_digest, listen, listen_udp, response


def test_digest_changes_with_data(tmp_path):
    (tmp_path / "a.txt").write_text("one")
    first = data_digest(str(tmp_path))
    expected = hashlib.sha256(b"a.txt\0one").hexdigest()
    assert first == (expected, 1)
    (tmp_path / "a.txt").write_text("two")
    assert data_digest(str(tmp_path))[0] != first[0]
    assert data_digest("")[1] == 0


def test_response_names_service_and_digest(tmp_path):
    (tmp_path / "x").write_text("data")
    body = response({"process": "postgres", "port": 5432, "data": str(tmp_path)}).decode()
    assert body.startswith("HTTP/1.0 200 OK")
    assert "service=postgres" in body and f"sha256={data_digest(str(tmp_path))[0]}" in body


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_client_reconnects_after_peer_restart():
    port = free_port()
    client = Service({"process": "nginx", "port": 0, "data": "", "connects": [["127.0.0.1", port]]}, None)
    threading.Thread(target=client.run, daemon=True).start()

    def accept_one() -> socket.socket:
        server = listen(port)
        assert server is not None
        server.setblocking(True)
        server.settimeout(10)
        conn, _ = server.accept()
        server.close()
        return conn

    first = accept_one()
    first.close()  # the peer goes away ...
    time.sleep(0.1)
    second = accept_one()  # ... and the client comes back on its own
    assert client.peers[("127.0.0.1", port)] is not None
    second.close()


def test_udp_client_keeps_a_connected_socket_and_server_receives():
    assert listen_udp(0) is None  # port 0: no UDP listener
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(10)
    port = receiver.getsockname()[1]
    client = Service({"process": "nginx", "port": 0, "data": "", "connects": [],
                      "udp_connects": [["127.0.0.1", port]]}, None)
    client._udp_send_due()
    sock, addr = client.udp_peers[("127.0.0.1", port)]
    assert sock is not None and sock.getpeername() == ("127.0.0.1", port) == addr
    data, source = receiver.recvfrom(4096)
    assert b"nginx: lab heartbeat" in data and source == sock.getsockname()
    receiver.close()


def test_udp_server_socket_is_unconnected():
    sock = Service({"process": "rsyslogd", "port": 0, "data": ""}, None,
                   listen_udp(free_udp_port()))
    (key,) = sock.sel.get_map().values()
    assert key.data == "udp" and key.fileobj.type == socket.SOCK_DGRAM  # type: ignore[union-attr]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
