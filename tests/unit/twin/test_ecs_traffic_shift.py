"""Blue/green, canary and linear deployments in the ECS state machine, with made-up times.

The tests play the effects layer as test_ecs_service_state.py does, and read the
listener rule weights ECS would set (ShiftTraffic) and the lifecycle stages it reports.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from tests.unit.twin.test_ecs_service_state import (
    SVC,
    TG,
    V2,
    _core,
    _health,
    _ip,
    _launched,
    _plan,
    _stable,
    _stop_fully,
)

from fargate_api.twin.ecs.actions import (
    Action,
    Record,
    RegisterTargets,
    ShiftTraffic,
    StartDrain,
    Target,
)
from fargate_api.twin.ecs.events import (
    AlarmStateChanged,
    DeployRequested,
    RollbackRequested,
    TargetsRegistered,
    TaskStarted,
)
from fargate_api.twin.ecs.service_scheduler import DeploymentRefusedError, ServiceScheduler
from fargate_api.twin.ecs.traffic_shift import (
    production_steps,
    wait_after_step,
    weights,
)
from fargate_api.twin.plan.model import (
    AlarmRule,
    DeploymentPlan,
    MetricQuery,
    Strategy,
    TrafficShift,
    TwinPlan,
)

ALT = "s/TgAlt"
PROD = "s/ProdRule"
TEST = "s/TestRule"
ALARM = "s/ErrorRate"


def _shifting_plan(
    strategy: Strategy,
    *,
    rollback: bool = True,
    test_pause: int = 0,
    bake: int = 60,
    alarms: tuple[str, ...] = (ALARM,),
) -> TwinPlan:
    plan = _plan(desired=2)
    deployment = DeploymentPlan(
        strategy=strategy,
        bake_time=bake,
        canary_percent=10.0,
        canary_interval=30,
        linear_percent=30.0,
        linear_interval=20,
        alarms=alarms,
        alarm_rollback=rollback,
        test_traffic_pause=test_pause,
        shifts=(TrafficShift(TG, ALT, PROD, TEST),),
    )
    alarm = AlarmRule(
        key=ALARM,
        name="api-target-5xx-rate",
        queries=(MetricQuery("m1", True, metric="HTTPCode_Target_5XX_Count", target_group=ALT),),
        threshold=1,
        comparison="GreaterThanOrEqualToThreshold",
        period=60,
        evaluation_periods=1,
        datapoints_to_alarm=1,
    )
    service = replace(plan.services[0], deployment=deployment)
    return replace(plan, services=(service,), alarms=(alarm,))


def _weights(
    rule: str, old: int, new: int, *, old_group: str = TG, new_group: str = ALT
) -> ShiftTraffic:
    return ShiftTraffic(rule, ((old_group, old), (new_group, new)))


def _shifts(actions: list[Action]) -> list[ShiftTraffic]:
    return [a for a in actions if isinstance(a, ShiftTraffic)]


def _green_up(core: ServiceScheduler, now: float) -> list[str]:
    """The deployment's SCALE_UP: its tasks start in the standby group and get healthy."""
    actions = core.reconcile(SVC, now)
    ids = _launched(actions)
    for task_id in ids:
        follow = core.handle(TaskStarted(task_id), now)
        registered = [a for a in follow if isinstance(a, RegisterTargets)]
        assert registered == [RegisterTargets(task_id, (Target(ALT, core.task(task_id).ip, 80),))]  # type: ignore[union-attr]
        core.handle(TargetsRegistered(task_id), now)
        _health(core, task_id, "healthy", now)
    return ids


# ---------------------------------------------------------------- the arithmetic


def test_production_steps_per_strategy() -> None:
    assert production_steps(DeploymentPlan(strategy="BLUE_GREEN")) == (100.0,)
    assert production_steps(DeploymentPlan(strategy="CANARY", canary_percent=5.0)) == (5.0, 100.0)
    assert production_steps(DeploymentPlan(strategy="LINEAR", linear_percent=30.0)) == (
        30.0,
        60.0,
        90.0,
        100.0,
    )
    assert production_steps(DeploymentPlan(strategy="LINEAR", linear_percent=25.0)) == (
        25.0,
        50.0,
        75.0,
        100.0,
    )
    assert production_steps(DeploymentPlan(strategy="CANARY", canary_percent=100.0)) == (100.0,)


def test_waits_between_steps() -> None:
    linear = DeploymentPlan(strategy="LINEAR", linear_percent=50.0, linear_interval=120)
    assert [wait_after_step(linear, i) for i in range(2)] == [120, 0]
    canary = DeploymentPlan(strategy="CANARY", canary_interval=600)
    assert [wait_after_step(canary, i) for i in range(2)] == [600, 0]
    assert wait_after_step(DeploymentPlan(strategy="BLUE_GREEN"), 0) == 0


@pytest.mark.parametrize(
    ("share", "expected"),
    [(0.0, (1, 0)), (0.1, (999, 1)), (5.0, (950, 50)), (62.5, (375, 625)), (100.0, (0, 1))],
)
def test_weights_stay_within_elb_limits(share: float, expected: tuple[int, int]) -> None:
    assert weights(share) == expected


# ---------------------------------------------------------------- a deployment to the end


def test_a_canary_deployment_walks_every_stage_and_swaps_the_target_groups() -> None:
    core = _core(_shifting_plan("CANARY", test_pause=10), time_scale=0.5)
    blue = _stable(core)
    state = core.services[SVC]
    assert state.live_groups == (TG,)
    core.handle(DeployRequested(SVC, V2), 100.0)
    mine = state.primary
    assert (mine.strategy, mine.stage, mine.target_groups) == ("CANARY", "SCALE_UP", (ALT,))
    green = _green_up(core, 100.0)
    assert len(green) == 2  # the new revision starts at full size beside the old one
    # Healthy: the test rule moves to the new revision at once, production waits.
    actions = core.reconcile(SVC, 101.0)
    assert _shifts(actions) == [_weights(TEST, 0, 1)]
    assert (mine.stage, mine.test_percent, mine.production_percent) == (
        "POST_TEST_TRAFFIC_SHIFT",
        100.0,
        0.0,
    )
    assert _shifts(core.reconcile(SVC, 105.0)) == []  # the test window: 10 s x 0.5
    actions = core.reconcile(SVC, 106.0)
    assert _shifts(actions) == [_weights(PROD, 900, 100)]
    assert Record("service svc: 10% of production traffic on revision 2") in actions
    assert (mine.stage, mine.production_percent) == ("PRODUCTION_TRAFFIC_SHIFT", 10.0)
    assert _shifts(core.reconcile(SVC, 120.0)) == []  # canary interval: 30 s x 0.5
    actions = core.reconcile(SVC, 121.0)
    assert _shifts(actions) == [_weights(PROD, 0, 1)]
    assert mine.stage == "BAKE_TIME"
    # The old revision still runs through the bake (60 s x 0.5), then drains.
    assert core.reconcile(SVC, 150.0) == []
    actions = core.reconcile(SVC, 151.0)
    assert [a for a in actions if isinstance(a, StartDrain)] == [
        StartDrain(blue[0], (TG,)),
        StartDrain(blue[1], (TG,)),
    ]
    assert mine.stage == "CLEAN_UP" and state.live_groups == (ALT,)
    assert mine.rollout_state == "IN_PROGRESS"  # until the old tasks are gone
    for task_id in blue:
        _stop_fully(core, task_id, 160.0)
    actions = core.reconcile(SVC, 161.0)
    assert Record("service svc: deployment of revision 2 completed") in actions
    assert (mine.rollout_state, mine.outcome, mine.status) == ("COMPLETED", "SUCCESSFUL", "PRIMARY")
    # The next deployment goes to the group that is idle now, the original one.
    core.handle(DeployRequested(SVC, replace(V2, family="v3")), 200.0)
    assert state.primary.target_groups == (TG,)


def test_blue_green_shifts_production_in_one_step_after_the_test_window() -> None:
    core = _core(_shifting_plan("BLUE_GREEN", test_pause=30))
    _stable(core)
    core.handle(DeployRequested(SVC, V2), 10.0)
    _green_up(core, 10.0)
    assert _shifts(core.reconcile(SVC, 11.0)) == [_weights(TEST, 0, 1)]
    assert _shifts(core.reconcile(SVC, 40.0)) == []
    assert _shifts(core.reconcile(SVC, 41.0)) == [_weights(PROD, 0, 1)]
    assert core.services[SVC].primary.stage == "BAKE_TIME"


def test_linear_moves_one_step_per_interval() -> None:
    core = _core(_shifting_plan("LINEAR"))
    _stable(core)
    core.handle(DeployRequested(SVC, V2), 0.0)
    _green_up(core, 0.0)
    core.reconcile(SVC, 1.0)  # test traffic
    seen = []
    for now in (1.0, 21.0, 41.0, 61.0):
        seen += [a.weights for a in _shifts(core.reconcile(SVC, now))]
    assert seen == [
        ((TG, 700), (ALT, 300)),
        ((TG, 400), (ALT, 600)),
        ((TG, 100), (ALT, 900)),
        ((TG, 0), (ALT, 1)),
    ]


def test_no_shift_before_every_new_task_is_healthy() -> None:
    core = _core(_shifting_plan("BLUE_GREEN"))
    _stable(core)
    core.handle(DeployRequested(SVC, V2), 0.0)
    actions = core.reconcile(SVC, 0.0)
    (first, second) = _launched(actions)
    for task_id in (first, second):
        core.handle(TaskStarted(task_id), 0.0)
        core.handle(TargetsRegistered(task_id), 0.0)
    _health(core, first, "healthy", 1.0)
    assert _shifts(core.reconcile(SVC, 2.0)) == []
    assert core.services[SVC].primary.stage == "SCALE_UP"


# ---------------------------------------------------------------- going back


def _in_canary(core: ServiceScheduler) -> list[str]:
    _stable(core)
    core.handle(DeployRequested(SVC, V2), 100.0)
    green = _green_up(core, 100.0)
    core.reconcile(SVC, 101.0)  # test traffic, no pause
    core.reconcile(SVC, 101.0)  # the canary's 10 %
    assert core.services[SVC].primary.production_percent == 10.0
    return green


def test_an_alarm_during_the_canary_moves_traffic_back_and_removes_the_new_revision() -> None:
    core = _core(_shifting_plan("CANARY"))
    green = _in_canary(core)
    state = core.services[SVC]
    failed = state.primary
    core.handle(AlarmStateChanged(ALARM, "ALARM", "Threshold Crossed: 1 datapoint [4.0]"), 110.0)
    actions = core.reconcile(SVC, 110.5)
    assert _shifts(actions) == [_weights(PROD, 1, 0), _weights(TEST, 1, 0)]
    assert sorted(a.task_id for a in actions if isinstance(a, StartDrain)) == sorted(green)
    assert all(a.target_groups == (ALT,) for a in actions if isinstance(a, StartDrain))
    assert (failed.outcome, failed.rollout_state, failed.reason) == (
        "ROLLBACK_IN_PROGRESS",
        "FAILED",
        "alarm api-target-5xx-rate in ALARM",
    )
    assert failed.triggered_alarms == ("api-target-5xx-rate",)
    assert (state.primary.revision, state.primary.status) == (1, "PRIMARY")
    assert state.live_groups == (TG,)
    for task_id in green:
        _stop_fully(core, task_id, 120.0)
    actions = core.reconcile(SVC, 121.0)
    assert Record("service svc: rollback of revision 2 completed") in actions
    assert failed.outcome == "ROLLBACK_SUCCESSFUL" and failed.status == "INACTIVE"
    assert _launched(core.reconcile(SVC, 122.0)) == []  # the old revision kept running


def test_an_alarm_already_in_alarm_before_the_deployment_does_not_count() -> None:
    core = _core(_shifting_plan("CANARY"))
    core.handle(AlarmStateChanged(ALARM, "ALARM"), 50.0)
    _in_canary(core)
    assert core.services[SVC].primary.outcome == "IN_PROGRESS"


def test_an_alarm_without_rollback_fails_the_deployment_and_leaves_traffic() -> None:
    core = _core(_shifting_plan("CANARY", rollback=False))
    _in_canary(core)
    core.handle(AlarmStateChanged(ALARM, "ALARM"), 110.0)
    actions = core.reconcile(SVC, 110.5)
    assert _shifts(actions) == []
    mine = core.services[SVC].primary
    assert (mine.revision, mine.rollout_state, mine.outcome) == (2, "FAILED", "STOPPED")
    assert core.reconcile(SVC, 200.0) == []  # ECS stops there; so does the twin


def test_an_alarm_during_clean_up_changes_nothing() -> None:
    core = _core(_shifting_plan("BLUE_GREEN", bake=0))
    _stable(core)
    core.handle(DeployRequested(SVC, V2), 0.0)
    _green_up(core, 0.0)
    core.reconcile(SVC, 1.0)
    core.reconcile(SVC, 1.0)  # production, bake of 0
    core.reconcile(SVC, 1.0)  # clean up
    assert core.services[SVC].primary.stage == "CLEAN_UP"
    core.handle(AlarmStateChanged(ALARM, "ALARM"), 2.0)
    assert _shifts(core.reconcile(SVC, 3.0)) == []


def test_local_rollback_mid_deployment() -> None:
    core = _core(_shifting_plan("LINEAR"))
    green = _in_canary_like_linear(core)
    actions = core.handle(RollbackRequested(SVC), 130.0)
    assert _shifts(actions) == [_weights(PROD, 1, 0), _weights(TEST, 1, 0)]
    assert sorted(a.task_id for a in actions if isinstance(a, StartDrain)) == sorted(green)
    assert core.services[SVC].deployments[1].reason == "rollback requested (local rollback)"


def _in_canary_like_linear(core: ServiceScheduler) -> list[str]:
    _stable(core)
    core.handle(DeployRequested(SVC, V2), 100.0)
    green = _green_up(core, 100.0)
    core.reconcile(SVC, 101.0)
    core.reconcile(SVC, 101.0)
    assert core.services[SVC].primary.production_percent == 30.0
    return green


def test_rollback_without_a_deployment_in_progress_is_refused() -> None:
    core = _core(_shifting_plan("CANARY"))
    _stable(core)
    with pytest.raises(DeploymentRefusedError, match="no deployment in progress"):
        core.handle(RollbackRequested(SVC), 10.0)


def test_a_deploy_during_a_traffic_shifting_deployment_is_refused() -> None:
    core = _core(_shifting_plan("CANARY"))
    _in_canary(core)
    with pytest.raises(DeploymentRefusedError, match="still in progress"):
        core.handle(DeployRequested(SVC, replace(V2, family="v3")), 120.0)
    assert max(core.services[SVC].definitions) == 2  # nothing changed


# ---------------------------------------------------------------- rolling with alarms


def test_a_rolling_deployment_rolls_back_on_its_alarm() -> None:
    plan = _plan(desired=2)
    service = replace(
        plan.services[0], deployment=DeploymentPlan(alarms=(ALARM,), alarm_rollback=True)
    )
    alarm = _shifting_plan("CANARY").alarms
    core = _core(replace(plan, services=(service,), alarms=alarm))
    _stable(core)
    core.handle(DeployRequested(SVC, V2), 10.0)
    core.reconcile(SVC, 10.0)
    core.handle(AlarmStateChanged(ALARM, "ALARM", "datapoint 12.5"), 11.0)
    actions = core.reconcile(SVC, 12.0)
    assert actions[:2] == [
        Record("service svc: deployment of revision 2 failed (alarm api-target-5xx-rate in ALARM)"),
        Record("service svc: rolling back to revision 1"),
    ]
    state = core.services[SVC]
    assert [(d.revision, d.status, d.rollout_state) for d in state.deployments][:2] == [
        (1, "PRIMARY", "IN_PROGRESS"),
        (2, "INACTIVE", "FAILED"),
    ]


def test_local_rollback_of_a_rolling_deployment_goes_back_to_the_last_completed_one() -> None:
    core = _core(_plan(desired=2))
    _stable(core)
    core.handle(DeployRequested(SVC, V2), 10.0)
    actions = core.handle(RollbackRequested(SVC), 11.0)
    assert Record("service svc: rolling back to revision 1") in actions
    assert core.services[SVC].primary.revision == 1


def test_the_new_revision_lands_in_the_standby_group_registered_by_ip() -> None:
    core = _core(_shifting_plan("BLUE_GREEN"))
    _stable(core)
    core.handle(DeployRequested(SVC, V2), 0.0)
    actions = core.reconcile(SVC, 0.0)
    task_id = _launched(actions)[0]
    follow = core.handle(TaskStarted(task_id), 0.0)
    assert follow == [RegisterTargets(task_id, (Target(ALT, _ip("A", 5), 80),))]
