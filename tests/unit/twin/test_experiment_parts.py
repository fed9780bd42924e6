"""The experiment's small parts that need no twin: the HTTP client and the DNS answer
reader of the load generator (on loopback), the endpoint the load goes to, error words,
and the name of an experiment's own twin."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fargate_api.errors import UserError
from fargate_api.twin.cli.experiment_command import experiment_twin_name
from fargate_api.twin.daemon.contracts import LoadBalancerState, TwinState
from fargate_api.twin.fis.experiment_file import parse_experiment
from fargate_api.twin.fis.experiment_run import check_fault_targets, endpoint_for
from fargate_api.twin.fis.load_generator import (
    Endpoint,
    _a_records,
    describe_error,
    http_get,
)
from fargate_api.twin.naming import check_name


@pytest.fixture
def server() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback server answering each connection with a canned HTTP answer."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    seen: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                seen.append(conn.recv(4096))
                conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\nno")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], seen
    listener.close()


def test_http_get_sends_a_closing_get_and_reads_the_status(
    server: tuple[int, list[bytes]],
) -> None:
    port, seen = server
    status, body = http_get(
        socket.socket(), "127.0.0.1", Endpoint(port=port, host="lb.example"), "/x?y=1", 2.0
    )
    assert (status, body) == (503, b"no")
    request = seen[0].decode()
    assert request.startswith("GET /x?y=1 HTTP/1.1\r\n")
    assert "Host: lb.example\r\n" in request and "Connection: close\r\n" in request


def test_a_refused_connection_is_named_as_such() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    with pytest.raises(OSError) as caught:
        http_get(socket.socket(), "127.0.0.1", Endpoint(port=port), "/", 1.0)
    assert describe_error(caught.value) == "connection refused"
    assert describe_error(TimeoutError("timed out")) == "timeout"
    assert describe_error(ValueError("not an HTTP answer")) == "not an HTTP answer"


def _answer(query_id: int, rcode: int, addresses: list[str]) -> bytes:
    header = struct.pack(">HHHHHH", query_id, 0x8180 | rcode, 1, len(addresses), 0, 0)
    question = b"\x02lb\x04twin\x00" + struct.pack(">HH", 1, 1)
    records = b"".join(
        b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 0, 4) + socket.inet_aton(ip) for ip in addresses
    )
    return header + question + records


def test_dns_answers_are_read_for_their_a_records() -> None:
    answer = _answer(7, 0, ["198.51.100.10", "198.51.100.11"])
    assert _a_records(answer, 7) == ["198.51.100.10", "198.51.100.11"]
    assert _a_records(_answer(7, 3, []), 7) == []  # NXDOMAIN: no address
    with pytest.raises(ValueError):
        _a_records(answer, 8)  # not the answer to our query
    with pytest.raises(ValueError):
        _a_records(_answer(7, 2, []), 7)  # SERVFAIL


def _state(listeners: list[int], **extra: object) -> TwinState:
    balancer = LoadBalancerState(
        public_ips=["198.51.100.10"], listeners=listeners, dns_names=["lb.elb.twin"]
    )
    return TwinState(name="t", phase="running", load_balancer=balancer, **extra)  # type: ignore[arg-type]


def test_the_load_goes_to_the_primary_listener() -> None:
    assert endpoint_for(_state([80])) == Endpoint(scheme="http", port=80, host="lb.elb.twin")
    assert endpoint_for(_state([8080])).port == 8080
    https = endpoint_for(
        _state(
            [443, 80],
            domain_urls=["https://api.example.com"],
            ca_bundle="/run/x/bundle.pem",
        )
    )
    assert https == Endpoint(
        scheme="https", port=443, host="api.example.com", ca_file="/run/x/bundle.pem"
    )
    # An HTTPS listener without a domain its certificate names: the plain one.
    assert endpoint_for(_state([443, 80])).scheme == "http"


def test_a_twin_the_internet_cannot_load_is_refused_before_the_load() -> None:
    spec = parse_experiment("[load]\nrate = 1\nduration = 5\n")
    check_fault_targets(spec, _state([80]))  # internet-facing: fine
    internal = _state([80]).model_copy(
        update={
            "load_balancer": LoadBalancerState(
                public_ips=[], listeners=[80], dns_names=["internal-lb.elb.twin"], internal=True
            )
        }
    )
    for status in (internal, TwinState(name="t", phase="running")):
        with pytest.raises(UserError, match="no internet-facing load balancer"):
            check_fault_targets(spec, status)


@pytest.mark.parametrize(
    ("file", "name"),
    [
        ("az-outage.toml", "exp-az-outage"),
        ("az-outage-single-nat.toml", "exp-az-outage-single"),
        ("My Experiment!.toml", "exp-my-experiment"),
        ("___.toml", "exp-run"),
    ],
)
def test_an_experiments_own_twin_is_named_after_its_file(file: str, name: str) -> None:
    assert experiment_twin_name(Path(file)) == name
    assert check_name(name) == name
