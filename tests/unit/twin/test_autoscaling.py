"""Target tracking on requests per target: the plan read from templates, and the
decisions against a fake clock and fake counters."""

from __future__ import annotations

from pathlib import Path

from fargate_api.config.loader import parse_config
from fargate_api.synth import synthesize, write_templates
from fargate_api.twin.autoscaling.target_tracking import Autoscaler, decide
from fargate_api.twin.plan.load import load_plan
from fargate_api.twin.plan.model import Autoscaling

POLICY = Autoscaling("svc", 2, 6, 100.0, "tg", scale_in_cooldown=60, scale_out_cooldown=30)


def test_plan_reads_request_tracking_and_notes_cpu_tracking(tmp_path: Path) -> None:
    config = parse_config(
        "[autoscaling]\nmin = 2\nmax = 9\ncpu_target = 50\nrequests_per_target = 700\n"
    )
    write_templates(synthesize(config), tmp_path)
    plan = load_plan(tmp_path / "parent.yml")
    (policy,) = plan.autoscaling
    assert (policy.minimum, policy.maximum, policy.requests_per_target) == (2, 9, 700.0)
    assert policy.service == plan.services[0].key
    assert policy.target_group == plan.target_groups[0].key
    assert any("ECSServiceAverageCPUUtilization" in n.reason for n in plan.notices)


def test_decide_is_proportional_and_bounded() -> None:
    assert decide(2, 300.0, POLICY) == 6  # 2 x 300 / 100
    assert decide(2, 260.0, POLICY) == 6  # ceil(5.2)
    assert decide(4, 10.0, POLICY) == 2  # never below min
    assert decide(2, 10_000.0, POLICY) == 6  # never above max


class _Fake:
    def __init__(self) -> None:
        self.now = 0.0
        self.total = 0
        self.desired = 2
        self.calls: list[int] = []

    def scale(self, service: str, desired: int, reason: str) -> None:
        self.calls.append(desired)
        self.desired = desired


def _scaler(fake: _Fake, scale: float = 1.0) -> Autoscaler:
    return Autoscaler(
        (POLICY,),
        time_scale=scale,
        request_total=lambda tg: fake.total,
        healthy_targets=lambda svc: fake.desired,
        desired=lambda svc: fake.desired,
        scale=fake.scale,
        clock=lambda: fake.now,
    )


def test_scales_out_on_a_busy_minute_and_in_after_the_cooldown() -> None:
    fake = _Fake()
    scaler = _scaler(fake)
    scaler.start()
    fake.now = 60.0
    scaler.tick()  # first window: no previous total, no decision
    fake.total, fake.now = 600, 120.0  # 300 per target per minute: triple
    scaler.tick()
    assert fake.calls == [6]
    fake.now = 180.0  # an idle minute, 60 s after the scale-out: the cooldown has passed
    scaler.tick()
    assert fake.calls == [6, 2]


def test_cooldowns_follow_the_time_scale() -> None:
    fake = _Fake()
    scaler = _scaler(fake, scale=0.1)  # 6 s windows; cooldowns 3 s out, 6 s in
    scaler.start()
    fake.now = 6.0
    scaler.tick()
    fake.total, fake.now = 60, 12.0  # 60 requests in 6 s over 2 targets: 300/min each
    scaler.tick()
    assert fake.calls == [6]
    fake.now = 17.0  # not a full window yet: nothing evaluated
    scaler.tick()
    assert fake.calls == [6]
    fake.now = 18.0  # idle window, 6 s after the scale-out: scale-in allowed
    scaler.tick()
    assert fake.calls == [6, 2]
    assert scaler.describe("svc") is not None and scaler.describe("other") is None


def test_scale_in_is_held_back_by_its_cooldown() -> None:
    fake = _Fake()
    policy = Autoscaling("svc", 2, 6, 100.0, "tg", scale_in_cooldown=90, scale_out_cooldown=30)
    scaler = Autoscaler(
        (policy,),
        time_scale=1.0,
        request_total=lambda tg: fake.total,
        healthy_targets=lambda svc: fake.desired,
        desired=lambda svc: fake.desired,
        scale=fake.scale,
        clock=lambda: fake.now,
    )
    scaler.start()
    fake.now = 60.0
    scaler.tick()
    fake.total, fake.now = 600, 120.0  # busy: scale out
    scaler.tick()
    assert fake.calls == [6]
    fake.now = 180.0  # idle, 60 s after the scale-out: still cooling down (90 s)
    scaler.tick()
    assert fake.calls == [6]
    fake.now = 240.0  # idle, 120 s after: scale in
    scaler.tick()
    assert fake.calls == [6, 2]


def test_start_brings_the_count_within_bounds() -> None:
    fake = _Fake()
    fake.desired = 9
    _scaler(fake).start()
    assert fake.calls == [6]
