"""ALB fail-open, for real: with every target of a group unhealthy, requests go to all
of them; with one healthy, only to the healthy ones (elbv2/haproxy_config.py).

The namespaces, target servers and helpers are test_haproxy_lb's (its ``twin``
fixture); HAProxy is started by the twin's own `LoadBalancers.start_haproxy`, with the
thread that arms the targets' fail-open copies, as in the daemon. Which target answered
is read from the answers and, from the targets' side, from the requests each one logged:
a target that must get nothing is shown to have got nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from fargate_api.twin.elbv2.haproxy_runtime import TargetState
from fargate_api.twin.elbv2.load_balancers import LoadBalancers
from fargate_api.twin.plan.model import Listener, ListenerRule, TargetGroup
from twin import test_haproxy_lb
from twin.test_haproxy_lb import (
    API,
    CHECK,
    GROUPS,
    NODE_1,
    TARGET_PORT,
    WEB,
    Target,
    Twin,
    balancer,
    forward,
    load_balancers_over,
    wait_for,
)
from twin.test_haproxy_weights import REQUESTS, answers, assert_share

# test_haproxy_lb's fixture, under its own name so that pytest finds it in this module.
twin = test_haproxy_lb.twin

URL = f"http://{NODE_1}/"
# Health checks on a port nothing listens on, every 4 s: the targets answer requests on
# TARGET_PORT but fail every check, the first one 4 s after registration.
CLOSED_CHECK_PORT = 8081
CLOSED = "Svc/ClosedCheckTargetGroup"
CLOSED_GROUP = TargetGroup(
    CLOSED,
    "ClosedCheckTargetGroup",
    TARGET_PORT,
    "HTTP",
    replace(CHECK, port=CLOSED_CHECK_PORT, interval=4),
    5,
)


@pytest.fixture
def balancers(twin: Twin) -> Iterator[LoadBalancers]:
    """The twin's LoadBalancers over the fixture's namespaces; its HAProxy stops first."""
    with load_balancers_over(twin, "failopen", (*GROUPS.values(), CLOSED_GROUP)) as found:
        yield found


def health(balancers: LoadBalancers, group: str = WEB) -> dict[str, str]:
    return {name: state.health for name, state in balancers.states(group).items()}


def state(balancers: LoadBalancers, name: str, group: str = WEB) -> TargetState:
    return balancers.states(group)[name]


def traffic(*targets: Target) -> list[int]:
    """How many requests other than health checks each target has logged."""
    return [len(target.traffic()) for target in targets]


def test_fail_open_only_when_every_target_is_unhealthy_never_to_a_draining_one(
    twin: Twin, balancers: LoadBalancers
) -> None:
    empty = ListenerRule("Svc/Empty", 1, ("/empty/*",), (), (forward((API, 1)),))
    http = Listener("Svc/Http", 80, "HTTP", (forward((WEB, 1)),), (empty,))
    running = balancers.start_haproxy(0, balancer(http), [twin.ns, twin.ns2])
    t1 = twin.start_target("t1", "192.0.2.11")
    t2 = twin.start_target("t2", "192.0.2.12")
    balancers.register(WEB, "t1", t1.ip, TARGET_PORT)
    balancers.register(WEB, "t2", t2.ip, TARGET_PORT)
    wait_for("t1 and t2 healthy", lambda: health(balancers) == {"t1": "healthy", "t2": "healthy"})
    assert set(answers(twin, URL, 20)) == {"t1", "t2"}

    # Partial failure: t2's health checks answer 500. Its copy is armed (it was healthy)
    # but unused: every request goes to t1, and t2 logs none.
    t2.healthy(False)
    wait_for("t2 unhealthy", lambda: health(balancers)["t2"] == "unhealthy")
    wait_for("t2's copy armed", lambda: state(balancers, "t2").fail_open_ready)
    before = traffic(t1, t2)
    assert answers(twin, URL, 20) == {"t1": 20}
    assert traffic(t1, t2) == [before[0] + 20, before[1]]

    # Total failure: t1 fails too. The ALB fails open: both serve, in turn, and both are
    # still reported unhealthy (target health and the metrics' host counts).
    t1.healthy(False)
    wait_for("t1 unhealthy", lambda: health(balancers)["t1"] == "unhealthy")
    assert state(balancers, "t1").fail_open_ready
    sample = balancers.sample(WEB)
    before = traffic(t1, t2)
    seen = answers(twin, URL, 40)
    assert set(seen) == {"t1", "t2"} and min(seen.values()) >= 15, seen
    assert traffic(t1, t2) == [before[0] + seen["t1"], before[1] + seen["t2"]]
    assert health(balancers) == {"t1": "unhealthy", "t2": "unhealthy"}
    assert "L7STS 500" in state(balancers, "t1").reason
    # The health path through the ALB answers 500 from the targets: their 5xx, counted.
    assert answers(twin, f"{URL}health", 10) == {"HTTP 500": 10}
    after = balancers.sample(WEB)
    assert (after.healthy, after.unhealthy) == (0, 2)
    assert after.requests - sample.requests == 50  # RequestCount: a target was chosen
    assert after.http_5xx - sample.http_5xx == 10  # HTTPCode_Target_5XX_Count
    assert state(balancers, "t1").total_requests >= seen["t1"]  # the copy's count is t1's

    # A group without targets still answers 503, and counts no request.
    assert answers(twin, f"{URL}empty/x", 5) == {"HTTP 503": 5}
    assert balancers.sample(API).requests == 0

    # One target healthy again: fail-open ends, only the healthy one gets requests.
    t1.healthy(True)
    wait_for("t1 healthy again", lambda: health(balancers)["t1"] == "healthy")
    before = traffic(t1, t2)
    assert answers(twin, URL, 20) == {"t1": 20}
    assert traffic(t1, t2) == [before[0] + 20, before[1]]
    t1.healthy(False)
    wait_for("t1 unhealthy again", lambda: health(balancers)["t1"] == "unhealthy")
    assert set(answers(twin, URL, 20)) == {"t1", "t2"}  # both copies still armed

    # Draining: t2 gets no new request, fail-open or not; t1 takes them all.
    balancers.drain(WEB, "t2")
    assert health(balancers) == {"t1": "unhealthy", "t2": "draining"}
    assert not state(balancers, "t2").fail_open_ready
    before = traffic(t1, t2)
    assert answers(twin, URL, 20) == {"t1": 20}
    assert traffic(t1, t2) == [before[0] + 20, before[1]]

    # HAProxy restarted (the self-healing restore): t1's copy is armed again at once,
    # before any check ran (t1 is back in "initial" until its first check fails), and
    # t2 comes back drained.
    old_pid = running.process.pid
    assert balancers.restart(running.lb.key) == "with 2 targets"
    assert running.process.pid != old_pid
    assert health(balancers) == {"t1": "initial", "t2": "draining"}
    assert state(balancers, "t1").fail_open_ready
    before = traffic(t1, t2)
    assert answers(twin, URL, 20) == {"t1": 20}
    assert traffic(t1, t2) == [before[0] + 20, before[1]]
    wait_for("t1 unhealthy after the restart", lambda: health(balancers)["t1"] == "unhealthy")
    assert answers(twin, URL, 10) == {"t1": 10}

    # Deregistered, both: an empty group, 503 again.
    balancers.deregister(WEB, "t2")
    balancers.deregister(WEB, "t1")
    assert balancers.states(WEB) == {}
    before = traffic(t1, t2)
    assert answers(twin, URL, 10) == {"HTTP 503": 10}
    assert traffic(t1, t2) == before


def test_targets_in_their_initial_checks_get_nothing_then_fail_open_once_they_fail(
    twin: Twin, balancers: LoadBalancers
) -> None:
    http = Listener("Svc/Http", 80, "HTTP", (forward((CLOSED, 1)),), ())
    balancers.start_haproxy(0, balancer(http), [twin.ns, twin.ns2])
    t3 = twin.start_target("t3", "192.0.2.13")
    t4 = twin.start_target("t4", "192.0.2.14")
    balancers.register(CLOSED, "t3", t3.ip, TARGET_PORT)
    balancers.register(CLOSED, "t4", t4.ip, TARGET_PORT)

    # No check has run yet (the first comes after 4 s): "initial", and an ALB sends an
    # initial target nothing, healthy target or not. Five arming rounds have passed
    # by the last of these requests.
    assert health(balancers, CLOSED) == {"t3": "initial", "t4": "initial"}
    assert answers(twin, URL, 10) == {"HTTP 503": 10}
    assert health(balancers, CLOSED) == {"t3": "initial", "t4": "initial"}
    assert not any(s.fail_open_ready for s in balancers.states(CLOSED).values())
    assert traffic(t3, t4) == [0, 0]

    # The checks' port is closed: both fail their first check, and the group fails open
    # to both, although neither ever passed a check.
    wait_for(
        "t3 and t4 unhealthy with their copies armed",
        lambda: all(
            s.health == "unhealthy" and s.fail_open_ready for s in balancers.states(CLOSED).values()
        ),
    )
    assert "L4CON" in state(balancers, "t3", CLOSED).reason
    seen = answers(twin, URL, 20)
    assert set(seen) == {"t3", "t4"} and sum(seen.values()) == 20, seen
    assert traffic(t3, t4) == [seen["t3"], seen["t4"]]
    assert health(balancers, CLOSED) == {"t3": "unhealthy", "t4": "unhealthy"}
    sample = balancers.sample(CLOSED)
    assert (sample.requests, sample.healthy, sample.unhealthy) == (20, 0, 2)


def test_a_weighted_forward_draws_a_group_first_and_that_group_fails_open_on_its_own(
    twin: Twin, balancers: LoadBalancers
) -> None:
    http = Listener("Svc/Http", 80, "HTTP", (forward((WEB, 1), (API, 1)),), ())
    balancers.start_haproxy(0, balancer(http), [twin.ns, twin.ns2])
    blue = twin.start_target("blue", "192.0.2.11")
    green = twin.start_target("green", "192.0.2.12")
    balancers.register(WEB, "blue", blue.ip, TARGET_PORT)
    balancers.register(API, "green", green.ip, TARGET_PORT)
    wait_for(
        "blue and green healthy",
        lambda: (
            health(balancers) == {"blue": "healthy"}
            and health(balancers, API) == {"green": "healthy"}
        ),
    )
    # Blue's only target fails: the draw between the groups is unchanged (the weights
    # decide, not health), and blue's share fails open to its unhealthy target.
    blue.healthy(False)
    wait_for("blue unhealthy", lambda: health(balancers) == {"blue": "unhealthy"})
    seen = answers(twin, URL, REQUESTS)
    assert set(seen) == {"blue", "green"} and sum(seen.values()) == REQUESTS, seen
    assert_share(seen, "blue", 1, 2)
    assert traffic(blue, green) == [seen["blue"], seen["green"]]
    balancers.set_forward_weights("Svc/Http", {WEB: 1, API: 0})
    assert answers(twin, URL, 20) == {"blue": 20}
    assert health(balancers) == {"blue": "unhealthy"}
    balancers.set_forward_weights("Svc/Http", {WEB: 0, API: 0})
    assert answers(twin, URL, 10) == {"HTTP 503": 10}  # no group to send to, as before
