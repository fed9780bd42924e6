"""The ECS service scheduler's decisions, as a pure state machine.

Events and the current time go in (`handle`, `reconcile`, `settle`); actions come out,
for the effects layer (scheduler.py) to carry out and to answer with more events.
Nothing here reads a clock, touches the host or blocks, so every rule below can be
walked through in a unit test with made-up times. It follows ECS's documented behaviour
for a service behind a load balancer:

* tasks are spread across the service's AZs, then subnets (ECS's default AZ balancing);
* a task is registered with its target groups once it runs, and counts as healthy only
  when the load balancer says so;
* a task whose essential container exits is replaced; one that the load balancer reports
  unhealthy is stopped and replaced, but not before the health check grace period;
* stopping a task first drains its targets for the deregistration delay, then stops its
  containers (SIGTERM, stopTimeout, SIGKILL), then removes its ENI;
* a new task definition revision rolls out as a PRIMARY deployment beside the ACTIVE
  one, within minimumHealthyPercent and maximumPercent (rollout.py); the deployment
  circuit breaker fails it after ECS's threshold of failed tasks and, with rollback,
  goes back to the last completed revision;
* a service whose tasks keep failing launches less often: 1, 2, 4... up to 30 s apart,
  until one of its tasks is healthy again;
* a task in an AZ that lost power (a fault injected with `local fault az-outage`) is
  gone at once, without a drain, and no task is placed in that AZ until it recovers;
  ECS's StopTask (`local fault task-kill`) deregisters and stops a task, and the
  service replaces it;
* with BLUE_GREEN, CANARY or LINEAR, a new revision starts at full size in the other
  target group; the test listener rule, then the production rule move to it in the
  strategy's steps (traffic_shift.py), the bake time follows, and only then is the old
  revision removed. A deployment alarm in ALARM (or a failing new revision, or
  `local rollback`) before that moves all traffic back and removes the new revision.
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import assert_never

from fargate_api.twin.ec2.addresses import (
    PUBLIC_POOL,
    TASK_PUBLIC_FIRST,
    next_free,
    public_address,
)
from fargate_api.twin.ecs.actions import (
    Action,
    Deprovision,
    LaunchTask,
    PublishState,
    Record,
    RegisterTargets,
    ShiftTraffic,
    StartDrain,
    StopTask,
    Target,
)
from fargate_api.twin.ecs.events import (
    AlarmStateChanged,
    AzImpaired,
    AzRecovered,
    ContainerCannotStart,
    ContainerExited,
    ContainerHealthObserved,
    DeployRequested,
    DrainFinished,
    EniAttached,
    Event,
    LaunchFailed,
    ObservedTarget,
    RollbackRequested,
    ScaleRequested,
    ShutdownRequested,
    StopTaskRequested,
    TargetHealthObserved,
    TargetsRegistered,
    TaskDeprovisioned,
    TaskStarted,
    TaskStopped,
)
from fargate_api.twin.ecs.rollout import TaskView, failure_threshold, plan_step
from fargate_api.twin.ecs.service_state import (
    STOPPING_STATUSES,
    AlarmState,
    ContainerHealthStatus,
    Deployment,
    RolloutState,
    ServiceState,
    TargetHealth,
    TaskRecord,
)
from fargate_api.twin.ecs.traffic_shift import (
    REVERSIBLE,
    LifecycleStage,
    production_steps,
    wait_after_step,
    weights,
)
from fargate_api.twin.plan.model import Service, TaskDefinition, TrafficShift, TwinPlan

STOPPED_HISTORY = 20
MAX_BACKOFF = 30.0


def _new_task_id() -> str:
    return uuid.uuid4().hex


class DeploymentRefusedError(ValueError):
    """A request the service cannot take now (a deploy during a traffic-shifting
    deployment, a rollback with nothing to roll back): refused, nothing changed."""


class ServiceScheduler:
    """Holds the services' and tasks' state; not thread-safe (the caller serialises)."""

    def __init__(
        self,
        plan: TwinPlan,
        *,
        time_scale: float,
        used_ips: dict[str, set[IPv4Address]],
        new_task_id: Callable[[], str] = _new_task_id,
    ) -> None:
        self.plan = plan
        self.time_scale = time_scale
        self.used_ips = used_ips  # subnet key -> addresses taken (also by NAT and ALB nodes)
        self._new_task_id = new_task_id
        self._deployment_numbers = itertools.count(1)
        self.services: dict[str, ServiceState] = {
            s.key: self._initial_state(s, plan) for s in plan.services
        }
        self.tasks: list[TaskRecord] = []  # not yet stopped, in launch order
        self.stopped: list[TaskRecord] = []  # the most recent first
        self.shutting_down = False
        self._shutdown_stops: set[str] = set()
        self._public_ips: set[IPv4Address] = set()  # held by tasks not yet removed
        self._failures: Counter[str] = Counter()
        self._retry_after: dict[str, float] = {}
        # AZs that lost power: no task is placed there until they recover.
        self.impaired_azs: set[str] = set()
        # Services that backed off because every AZ of theirs was impaired: they may
        # launch at once when one recovers.
        self._no_healthy_az: set[str] = set()
        # alarm key -> (state, since when, CloudWatch's reason)
        self.alarm_states: dict[str, tuple[AlarmState, float, str]] = {}

    def _initial_state(self, service: Service, plan: TwinPlan) -> ServiceState:
        live = tuple(b.target_group for b in service.load_balancers)
        first = self._deployment(1, "IN_PROGRESS", 0.0)
        first.target_groups = live
        return ServiceState(
            service=service,
            desired=service.desired_count,
            definitions={1: plan.task_definition(service.task_definition)},
            deployments=[first],
            live_groups=live,
        )

    # ------------------------------------------------------------ queries
    def task(self, task_id: str) -> TaskRecord | None:
        return next((t for t in self.tasks if t.id == task_id), None)

    def retry_after(self, service_key: str) -> float:
        """When the service may launch again (0: now)."""
        return self._retry_after.get(service_key, 0.0)

    def failures(self, service_key: str) -> int:
        """Consecutive task failures since the service last had a healthy task."""
        return self._failures[service_key]

    # ------------------------------------------------------------ events
    def handle(self, event: Event, now: float) -> list[Action]:
        match event:
            case DeployRequested():
                return self._deploy(event, now)
            case AlarmStateChanged(alarm=alarm, state=alarm_state, reason=reason):
                self.alarm_states[alarm] = (alarm_state, now, reason)
                return []
            case RollbackRequested(service=key):
                return self._rollback_requested(self.services[key], now)
            case ScaleRequested(service=key, desired=desired):
                state = self.services[key]
                state.desired = desired
                return [Record(f"service {state.service.name}: desired count {desired}")]
            case ShutdownRequested(reason=reason):
                return self._shutdown(reason)
            case AzImpaired(az=az, reason=reason):
                return self._az_impaired(az, reason)
            case AzRecovered(az=az):
                return self._az_recovered(az)
        task = self.task(event.task_id)
        if task is None:
            return []  # a late report about a task already gone
        match event:
            case EniAttached():
                task.eni_attached = True
                return []
            case TaskStarted():
                if task.last_status != "PROVISIONING":
                    return []  # stopped while its containers were starting
                # The grace period runs from here ("after a task has first started"),
                # not from the launch: a dependsOn may keep a task PENDING for a while.
                task.started_at = now
                return self._started(task)
            case TargetsRegistered():
                return self._announce_start(task)
            case LaunchFailed(reason=reason):
                return self._launch_failed(task, reason, now)
            case ContainerExited(container=container, code=code, reason=reason):
                return self._container_exited(task, container, code, reason, now)
            case ContainerCannotStart(container=container, reason=reason):
                return self._container_cannot_start(task, container, reason, now)
            case ContainerHealthObserved(health=health):
                return self._container_health_observed(task, health, now)
            case TargetHealthObserved(targets=targets):
                return self._health_observed(task, targets, now)
            case DrainFinished():
                return [self._stop_containers(task)]
            case TaskStopped(exit_codes=codes):
                for name, code in codes.items():
                    task.exit_codes.setdefault(name, code)
                if task.id in self._shutdown_stops:
                    task.last_status = "STOPPED"  # `local down` removes what is left at once
                    return []
                return [Deprovision(task.id)]
            case TaskDeprovisioned():
                return self._deprovisioned(task)
            case StopTaskRequested(reason=reason):
                if not task.active:
                    return []  # already on its way out
                return [
                    Record(f"task {task.id[:8]} stopped by StopTask: {reason}"),
                    *self._stop(task, reason, drain=False),
                ]
            case _:
                assert_never(event)

    def _deploy(self, event: DeployRequested, now: float) -> list[Action]:
        state = self.services[event.service]
        plan = state.service.deployment
        shifting = plan.strategy != "ROLLING" and bool(plan.shifts)
        if shifting and state.primary.rollout_state == "IN_PROGRESS":
            raise DeploymentRefusedError(
                f"service {state.service.name}: the deployment of revision "
                f"{state.primary.revision} is still in progress; a {plan.strategy} deployment "
                "starts from a completed one (wait for it, or `local rollback`)"
            )
        revision = max(state.definitions) + 1
        state.definitions[revision] = event.definition
        if event.desired is not None:
            state.desired = event.desired
        for deployment in state.deployments:
            deployment.status = "ACTIVE"
        deployment = self._deployment(revision, "IN_PROGRESS", now)
        deployment.watch_alarms = bool(plan.alarms)
        if shifting:
            deployment.strategy = plan.strategy
            deployment.target_groups = self._standby_groups(state)
            deployment.stage = "SCALE_UP"
            deployment.stage_since = now
        else:
            deployment.target_groups = state.live_groups
        state.deployments.insert(0, deployment)
        self._failures[event.service] = 0
        self._retry_after.pop(event.service, None)
        how = (
            "" if not shifting else f" ({plan.strategy}, in {', '.join(deployment.target_groups)})"
        )
        return [
            Record(f"service {state.service.name}: deployment of revision {revision} started{how}")
        ]

    def _standby_groups(self, state: ServiceState) -> tuple[str, ...]:
        """Per LoadBalancers entry, the target group production traffic does not reach now:
        where a traffic-shifting deployment registers the new revision."""
        groups = []
        for binding, live in zip(state.service.load_balancers, state.live_groups, strict=True):
            shift = self._shift_of(state, binding.target_group)
            if shift is None:
                groups.append(live)
            elif live == shift.target_group:
                groups.append(shift.alternate_target_group)
            else:
                groups.append(shift.target_group)
        return tuple(groups)

    @staticmethod
    def _shift_of(state: ServiceState, target_group: str) -> TrafficShift | None:
        return next(
            (s for s in state.service.deployment.shifts if s.target_group == target_group), None
        )

    def _shutdown(self, reason: str) -> list[Action]:
        self.shutting_down = True
        for state in self.services.values():
            state.desired = 0
        actions: list[Action] = []
        for task in [t for t in self.tasks if t.active]:
            task.stopped_reason = reason
            self._shutdown_stops.add(task.id)
            # Nothing serves anymore: no drain, and HAProxy goes with the twin.
            actions.append(self._stop_containers(task, deregister=False))
        return actions

    def _az_impaired(self, az: str, reason: str) -> list[Action]:
        """Power is gone: the tasks there stop at once. Their targets are deregistered
        (the load balancer would find them unhealthy, then drop them, anyway) and there
        is no drain, since nothing in that AZ answers any more. Not counted as the
        tasks' failures: the service did nothing wrong."""
        self.impaired_azs.add(az)
        actions: list[Action] = [
            Record(f"AZ {az} impaired: ECS places no task there until it recovers")
        ]
        for task in [t for t in self.tasks if t.active and t.az == az]:
            actions += self._stop(task, reason, drain=False)
        actions.append(PublishState())
        return actions

    def _az_recovered(self, az: str) -> list[Action]:
        if az not in self.impaired_azs:
            return []
        self.impaired_azs.discard(az)
        for key in self._no_healthy_az:
            self._retry_after.pop(key, None)
            self._failures[key] = 0
        self._no_healthy_az.clear()
        return [Record(f"AZ {az} recovered: ECS places tasks there again"), PublishState()]

    def _started(self, task: TaskRecord) -> list[Action]:
        task.last_status = "RUNNING"
        service = self.services[task.service].service
        if not service.load_balancers:
            return self._announce_start(task)
        task.target_groups = self._groups_for(task)
        targets = tuple(
            Target(group, task.ip, b.container_port)
            for b, group in zip(service.load_balancers, task.target_groups, strict=True)
        )
        return [RegisterTargets(task.id, targets)]

    def _groups_for(self, task: TaskRecord) -> tuple[str, ...]:
        """The target groups of the task's own deployment (the standby ones while a
        traffic-shifting deployment runs), else those production traffic reaches."""
        if task.target_groups:
            return task.target_groups
        state = self.services[task.service]
        mine = next((d for d in state.deployments if d.revision == task.revision), None)
        if mine is not None and mine.target_groups:
            return mine.target_groups
        return state.live_groups

    def _announce_start(self, task: TaskRecord) -> list[Action]:
        return [
            Record(
                f"started task {task.id[:8]} (revision {task.revision}) in {task.az} ({task.ip})"
            ),
            PublishState(),
        ]

    def _launch_failed(self, task: TaskRecord, reason: str, now: float) -> list[Action]:
        task.stopped_reason = f"Task failed to start: {reason}"
        # The rest of this round's launches were never tried: drop them, as ECS stops
        # launching a failing service until its back-off is over.
        untried = [
            t
            for t in self.tasks
            if t is not task
            and t.service == task.service
            and t.last_status == "PROVISIONING"
            and not t.eni_attached
        ]
        for dropped in untried:
            self.tasks.remove(dropped)
            self._release(dropped)
        self._back_off(task.service, now)
        return [Record(f"task {task.id[:8]} failed to start: {reason}"), Deprovision(task.id)]

    def _container_exited(
        self, task: TaskRecord, container: str, code: int, reason: str, now: float
    ) -> list[Action]:
        if not task.active or container in task.exit_codes:
            return []
        task.exit_codes[container] = code
        if reason:
            task.container_reasons[container] = reason
        if not self._essential(task, container):
            return []
        why = f"Essential container in task exited (code {code})"
        if reason:
            why = f"{why}: {reason}"
        return [
            *self._task_failed(task, now),
            Record(f"task {task.id[:8]} container {container} exited with code {code}"),
            *self._stop(task, why, drain=False),
        ]

    def _container_cannot_start(
        self, task: TaskRecord, container: str, reason: str, now: float
    ) -> list[Action]:
        """ECS stops a task whose essential container cannot start; a non-essential one is
        only reported, like one that exited."""
        if not task.active or container in task.container_reasons:
            return []
        task.container_reasons[container] = reason
        if not self._essential(task, container):
            return [Record(f"task {task.id[:8]} container {container} not started: {reason}")]
        return [
            *self._task_failed(task, now),
            Record(f"task {task.id[:8]} container {container} cannot start: {reason}"),
            *self._stop(task, reason, drain=False),
        ]

    def _container_health_observed(
        self, task: TaskRecord, health: ContainerHealthStatus, now: float
    ) -> list[Action]:
        """ECS replaces a task whose essential container fails its health check, but not
        within the service's health check grace period (which covers these checks too)."""
        if not task.active:
            return []
        task.container_health = health
        if health == "HEALTHY" and not self.services[task.service].service.load_balancers:
            task.was_healthy = True
            self._failures[task.service] = 0
        grace = self.services[task.service].service.health_check_grace_period * self.time_scale
        if health != "UNHEALTHY" or now - task.started_at < grace:
            return []
        return [
            *self._task_failed(task, now),
            Record(f"task {task.id[:8]} failed its container health checks"),
            *self._stop(task, "Task failed container health checks", drain=True),
        ]

    def _essential(self, task: TaskRecord, container: str) -> bool:
        definition = self.services[task.service].definitions[task.revision]
        return any(c.name == container and c.essential for c in definition.containers)

    def is_healthy(self, task: TaskRecord) -> bool:
        """Healthy for the deployment: the load balancer's verdict where there is one, and
        HEALTHY from the containers' checks where the task definition has any."""
        service = self.services[task.service].service
        definition = self.services[task.service].definitions[task.revision]
        if has_container_checks(definition) and task.container_health != "HEALTHY":
            return False
        return _is_healthy(task, service)

    def _health_observed(
        self, task: TaskRecord, targets: tuple[ObservedTarget, ...], now: float
    ) -> list[Action]:
        service = self.services[task.service].service
        if not task.active or not service.load_balancers:
            return []
        if targets:
            task.health = _worst([t.health for t in targets])
            task.health_reason = "; ".join(t.reason for t in targets if t.reason)
        if task.health == "healthy":
            task.was_healthy = True
            self._failures[service.key] = 0
        grace = service.health_check_grace_period * self.time_scale
        if task.health != "unhealthy" or now - task.started_at < grace:
            return []
        return [
            *self._task_failed(task, now),
            Record(f"task {task.id[:8]} failed its load balancer health checks"),
            *self._stop(task, "Task failed ELB health checks", drain=True),
        ]

    def _deprovisioned(self, task: TaskRecord) -> list[Action]:
        self._release(task)
        task.last_status = "STOPPED"
        self.tasks.remove(task)
        self.stopped = [task, *self.stopped][:STOPPED_HISTORY]
        return [Record(f"stopped task {task.id[:8]}: {task.stopped_reason}"), PublishState()]

    # ------------------------------------------------------------ the periodic pass
    def reconcile(self, service_key: str, now: float) -> list[Action]:
        """Replace what is missing, stop the surplus, move a deployment on one step."""
        state = self.services[service_key]
        service = state.service
        active = self._active(service_key)
        if not service.load_balancers:
            for task in active:
                if task.last_status == "RUNNING" and not has_container_checks(
                    state.definitions[task.revision]
                ):
                    task.was_healthy = True  # it outlived a poll of its containers
        actions: list[Action] = self._finish_rollbacks(state)
        primary = state.primary
        if primary.rollout_state == "IN_PROGRESS":
            failed = self._alarm_failure(state, now)
            if failed is not None:
                return actions + failed
            if primary.strategy != "ROLLING":
                return actions + self._reconcile_shift(state, now)
        if state.primary.rollout_state == "FAILED":
            return actions  # a failed deployment without rollback: ECS stops launching
        draining = sum(
            t.last_status in STOPPING_STATUSES for t in self.tasks if t.service == service_key
        )
        step = plan_step(
            desired=state.desired,
            primary_revision=state.revision,
            tasks=[
                TaskView(
                    t.id,
                    t.revision,
                    self.is_healthy(t),
                    t.health == "unhealthy" or t.container_health == "UNHEALTHY",
                    t.started_at,
                    t.az,
                )
                for t in active
            ],
            draining=draining,
            minimum_percent=service.minimum_healthy_percent,
            maximum_percent=service.maximum_percent,
            may_launch=now >= self.retry_after(service_key),
        )
        for task in active:
            if task.id in step.stop:
                reason = (
                    "Scaling activity initiated by (deployment)"
                    if task.revision == state.revision
                    else f"Deployment of revision {state.revision} replaced this task"
                )
                actions += self._stop(task, reason, drain=True)
        for _ in range(step.launch):
            launch = self._launch(state, now)
            actions.append(launch)
            if isinstance(launch, Record):
                break  # no address left: the service backs off
        return actions

    def settle(self, service_key: str, now: float) -> list[Action]:
        """A deployment completes when all desired tasks of its revision are healthy and
        no other revision runs; older deployments then disappear, as in ECS. Called after
        `reconcile`'s launches ran, since a task without load balancer counts at once."""
        state = self.services[service_key]
        primary = state.primary
        if primary.rollout_state != "IN_PROGRESS" or primary.strategy != "ROLLING":
            return []
        service = state.service
        mine = [t for t in self._active(service_key) if t.revision == primary.revision]
        others = [
            t for t in self.tasks if t.service == service_key and t.revision != primary.revision
        ]
        if len(mine) < state.desired or not all(self.is_healthy(t) for t in mine) or others:
            return []
        primary.rollout_state = "COMPLETED"
        primary.outcome = "SUCCESSFUL"
        failed = [d for d in state.deployments[1:] if d.rollout_state == "FAILED"][:1]
        state.deployments = [primary, *failed]
        for deployment in state.deployments[1:]:
            deployment.status = "INACTIVE"
        return [
            Record(f"service {service.name}: deployment of revision {primary.revision} completed"),
            PublishState(),
        ]

    # ------------------------------------------------------------ decisions
    def _active(self, service_key: str) -> list[TaskRecord]:
        return [t for t in self.tasks if t.service == service_key and t.active]

    def _task_failed(self, task: TaskRecord, now: float) -> list[Action]:
        """Counts a failed task against the service (back-off) and against its deployment
        (circuit breaker), and rolls back when the breaker trips."""
        state = self.services[task.service]
        service = state.service
        self._back_off(service.key, now)
        primary = state.primary
        if (
            task.revision != primary.revision
            or task.was_healthy
            or primary.rollout_state != "IN_PROGRESS"
        ):
            return []
        primary.failed_tasks += 1
        threshold = failure_threshold(state.desired)
        if not service.circuit_breaker or primary.failed_tasks < threshold:
            return []
        reason = (
            f"circuit breaker: {primary.failed_tasks} tasks of revision {primary.revision} failed "
            f"(threshold {threshold})"
        )
        if primary.strategy != "ROLLING":
            if primary.stage not in REVERSIBLE:
                return []
            return self._roll_back_shift(state, reason, now)
        return self._fail_rolling(state, reason, rollback=service.rollback)

    def _fail_rolling(self, state: ServiceState, reason: str, *, rollback: bool) -> list[Action]:
        """A rolling deployment fails (circuit breaker, alarm, `local rollback`); with
        rollback, a new deployment of the last completed revision replaces it."""
        service = state.service
        primary = state.primary
        primary.rollout_state = "FAILED"
        primary.outcome = "STOPPED"
        primary.reason = reason
        actions: list[Action] = [
            Record(
                f"service {service.name}: deployment of revision {primary.revision} failed "
                f"({primary.reason})"
            )
        ]
        good = next((d for d in state.deployments[1:] if d.rollout_state == "COMPLETED"), None)
        if rollback and good is not None:
            primary.status = "INACTIVE"
            primary.outcome = "ROLLBACK_SUCCESSFUL"
            back = self._deployment(good.revision, "IN_PROGRESS", primary.started_at)
            back.reason = f"rolling back to revision {good.revision}"
            back.target_groups = state.live_groups
            for deployment in state.deployments:
                if deployment.status == "PRIMARY":
                    deployment.status = "ACTIVE"
            state.deployments.insert(0, back)
            self._failures[service.key] = 0
            self._retry_after.pop(service.key, None)
            actions.append(
                Record(f"service {service.name}: rolling back to revision {good.revision}")
            )
        return actions

    def _alarm_failure(self, state: ServiceState, now: float) -> list[Action] | None:
        """The deployment in progress fails when one of its alarms went to ALARM since it
        started: a rolling one as the circuit breaker fails it, a traffic-shifting one by
        moving traffic back while the old revision still runs. None: it goes on."""
        mine = state.primary
        triggered = self._triggered_alarms(state, mine)
        reversible = mine.strategy == "ROLLING" or mine.stage in REVERSIBLE
        if not triggered or not reversible:
            return None
        mine.triggered_alarms = triggered
        reason = f"alarm {', '.join(triggered)} in ALARM"
        rollback = state.service.deployment.alarm_rollback
        if mine.strategy == "ROLLING":
            return self._fail_rolling(state, reason, rollback=rollback)
        if rollback:
            return self._roll_back_shift(state, reason, now)
        mine.rollout_state = "FAILED"
        mine.outcome = "STOPPED"
        mine.reason = reason
        return [
            Record(
                f"service {state.service.name}: deployment of revision {mine.revision} failed "
                f"({reason}); no rollback configured"
            )
        ]

    # ------------------------------------------------------------ traffic shifting
    def _reconcile_shift(self, state: ServiceState, now: float) -> list[Action]:
        """One step of a BLUE_GREEN, CANARY or LINEAR deployment (module docstring)."""
        service = state.service
        plan = service.deployment
        mine = state.primary
        scale = self.time_scale
        actions: list[Action] = []
        green = [t for t in self._active(service.key) if t.revision == mine.revision]
        missing = max(state.desired - len(green), 0)
        if mine.stage != "CLEAN_UP" and missing and now >= self.retry_after(service.key):
            for _ in range(missing):
                launch = self._launch(state, now)
                actions.append(launch)
                if isinstance(launch, Record):
                    break
        elapsed = now - mine.stage_since
        if mine.stage == "SCALE_UP":
            if len(green) >= state.desired and all(self.is_healthy(t) for t in green):
                actions += self._enter(state, mine, "TEST_TRAFFIC_SHIFT", now)
                mine.test_percent = 100.0
                actions += self._shift(state, mine, test=True, share=100.0)
                actions += self._enter(state, mine, "POST_TEST_TRAFFIC_SHIFT", now)
        elif mine.stage == "POST_TEST_TRAFFIC_SHIFT":
            if elapsed >= plan.test_traffic_pause * scale:
                actions += self._enter(state, mine, "PRODUCTION_TRAFFIC_SHIFT", now)
                actions += self._next_production_step(state, mine, now)
        elif mine.stage == "PRODUCTION_TRAFFIC_SHIFT":
            if elapsed >= wait_after_step(plan, mine.step) * scale:
                actions += self._next_production_step(state, mine, now)
        elif mine.stage == "BAKE_TIME":
            if elapsed >= plan.bake_time * scale:
                actions += self._enter(state, mine, "CLEAN_UP", now)
                state.live_groups = mine.target_groups
                for task in self._active(service.key):
                    if task.revision != mine.revision:
                        actions += self._stop(
                            task,
                            f"Deployment of revision {mine.revision} completed: the previous "
                            "revision is removed",
                            drain=True,
                        )
        elif mine.stage == "CLEAN_UP":
            actions += self._complete_shift(state, mine)
        return actions

    def _complete_shift(self, state: ServiceState, mine: Deployment) -> list[Action]:
        """Done once no task of another revision is left, draining ones included."""
        service = state.service
        if any(t.service == service.key and t.revision != mine.revision for t in self.tasks):
            return []
        mine.rollout_state = "COMPLETED"
        mine.outcome = "SUCCESSFUL"
        for deployment in state.deployments[1:]:
            deployment.status = "INACTIVE"
        state.deployments = [
            mine,
            *[d for d in state.deployments[1:] if d.outcome != "SUCCESSFUL"][:2],
        ]
        return [
            Record(f"service {service.name}: deployment of revision {mine.revision} completed"),
            PublishState(),
        ]

    def _next_production_step(
        self, state: ServiceState, mine: Deployment, now: float
    ) -> list[Action]:
        steps = production_steps(state.service.deployment)
        mine.step = min(mine.step + 1, len(steps) - 1)
        mine.production_percent = steps[mine.step]
        mine.stage_since = now
        actions = self._shift(state, mine, test=False, share=mine.production_percent)
        actions.append(
            Record(
                f"service {state.service.name}: {mine.production_percent:g}% of production "
                f"traffic on revision {mine.revision}"
            )
        )
        if mine.production_percent >= 100:
            actions += self._enter(state, mine, "POST_PRODUCTION_TRAFFIC_SHIFT", now)
            actions += self._enter(state, mine, "BAKE_TIME", now)
        return actions

    def _enter(
        self, state: ServiceState, mine: Deployment, stage: LifecycleStage, now: float
    ) -> list[Action]:
        mine.stage = stage
        mine.stage_since = now
        return [
            Record(f"service {state.service.name}: revision {mine.revision} {stage}"),
            PublishState(),
        ]

    def _shift(
        self, state: ServiceState, mine: Deployment, *, test: bool, share: float
    ) -> list[Action]:
        """ModifyRule on each production (or test) rule: `share` percent to the new
        revision's target group, the rest to the live one."""
        actions: list[Action] = []
        for binding, live, new in zip(
            state.service.load_balancers, state.live_groups, mine.target_groups, strict=True
        ):
            shift = self._shift_of(state, binding.target_group)
            rule = None if shift is None else (shift.test_rule if test else shift.production_rule)
            if rule is None or live == new:
                continue
            old_weight, new_weight = weights(share)
            actions.append(ShiftTraffic(rule, ((live, old_weight), (new, new_weight))))
        return actions

    def _roll_back_shift(self, state: ServiceState, reason: str, now: float) -> list[Action]:
        """All production and test traffic back to the live target groups at once, then
        the new revision is drained and stopped; the previous deployment is PRIMARY again."""
        mine = state.primary
        previous = next(d for d in state.deployments[1:] if d.rollout_state == "COMPLETED")
        mine.rollout_state = "FAILED"
        mine.outcome = "ROLLBACK_IN_PROGRESS"
        mine.reason = reason
        actions: list[Action] = [
            Record(
                f"service {state.service.name}: deployment of revision {mine.revision} rolls "
                f"back ({reason}) at {mine.stage}"
            )
        ]
        actions += self._shift(state, mine, test=False, share=0.0)
        actions += self._shift(state, mine, test=True, share=0.0)
        mine.production_percent = 0.0
        mine.test_percent = 0.0
        mine.status = "ACTIVE"
        state.deployments.remove(previous)
        previous.status = "PRIMARY"
        state.deployments.insert(0, previous)
        for task in self._active(state.service.key):
            if task.revision == mine.revision:
                actions += self._stop(task, f"Deployment rolled back: {reason}", drain=True)
        self._failures[state.service.key] = 0
        self._retry_after.pop(state.service.key, None)
        actions.append(PublishState())
        return actions

    def _finish_rollbacks(self, state: ServiceState) -> list[Action]:
        actions: list[Action] = []
        for deployment in state.deployments:
            if deployment.outcome != "ROLLBACK_IN_PROGRESS":
                continue
            if any(
                t.service == state.service.key and t.revision == deployment.revision
                for t in self.tasks
            ):
                continue
            deployment.outcome = "ROLLBACK_SUCCESSFUL"
            deployment.status = "INACTIVE"
            deployment.stage = None
            actions += [
                Record(
                    f"service {state.service.name}: rollback of revision {deployment.revision} "
                    "completed"
                ),
                PublishState(),
            ]
        return actions

    def _triggered_alarms(self, state: ServiceState, mine: Deployment) -> tuple[str, ...]:
        """Names of the deployment's alarms that went into ALARM since it started."""
        if not mine.watch_alarms:
            return ()
        names = []
        for key in state.service.deployment.alarms:
            seen = self.alarm_states.get(key)
            if seen is not None and seen[0] == "ALARM" and seen[1] >= mine.started_at:
                names.append(self.plan.alarm(key).name)
        return tuple(names)

    def _rollback_requested(self, state: ServiceState, now: float) -> list[Action]:
        mine = state.primary
        name = state.service.name
        if mine.rollout_state != "IN_PROGRESS":
            raise DeploymentRefusedError(f"service {name} has no deployment in progress")
        reason = "rollback requested (local rollback)"
        if mine.strategy != "ROLLING":
            if mine.stage not in REVERSIBLE:
                raise DeploymentRefusedError(
                    f"service {name}: revision {mine.revision} is at {mine.stage}; the previous "
                    "revision is already being removed"
                )
            return self._roll_back_shift(state, reason, now)
        if not any(d.rollout_state == "COMPLETED" for d in state.deployments[1:]):
            raise DeploymentRefusedError(
                f"service {name}: no earlier deployment completed, there is nothing to go back to"
            )
        return self._fail_rolling(state, reason, rollback=True)

    def _back_off(self, service_key: str, now: float) -> None:
        """ECS throttles a service whose tasks keep failing: 1, 2, 4... up to 30 s between
        launches, reset once a task of the service is healthy."""
        self._failures[service_key] += 1
        delay = min(2.0 ** (self._failures[service_key] - 1), MAX_BACKOFF)
        self._retry_after[service_key] = now + delay

    def _launch(self, state: ServiceState, now: float) -> LaunchTask | Record:
        service = state.service
        picked = self._pick_subnet(service)
        if picked is None:
            self._back_off(service.key, now)
            self._no_healthy_az.add(service.key)
            impaired = ", ".join(sorted(self.impaired_azs))
            return Record(
                f"no subnet of service {service.name} is in a healthy AZ (impaired: {impaired})"
            )
        subnet = self.plan.subnet(picked)
        used = self.used_ips.setdefault(subnet.key, set())
        ip = next_free(subnet.cidr, used)
        if ip is None:
            self._back_off(service.key, now)
            return Record(
                f"service {service.name}: subnet {subnet.key} has no free address for a task"
            )
        used.add(ip)
        public_ip = None
        if service.assign_public_ip and subnet.public:
            public_ip = self._free_public_ip()
            if public_ip is None:
                used.discard(ip)
                self._back_off(service.key, now)
                return Record(f"service {service.name}: no public address left for a task")
            self._public_ips.add(public_ip)
        task = TaskRecord(
            id=self._new_task_id(),
            service=service.key,
            revision=state.revision,
            subnet=subnet.key,
            az=subnet.az,
            ip=ip,
            public_ip=public_ip,
            started_at=now,
        )
        self.tasks.append(task)
        return LaunchTask(task.id, service.key, task.revision, subnet.key, ip, public_ip)

    def _free_public_ip(self) -> IPv4Address | None:
        """The lowest public address no task holds: the pool is small, and a twin that
        replaces tasks for hours must not run out of it."""
        for index in range(PUBLIC_POOL.num_addresses - 1 - TASK_PUBLIC_FIRST):
            candidate = public_address(index, first=TASK_PUBLIC_FIRST)
            if candidate not in self._public_ips:
                return candidate
        return None

    def _release(self, task: TaskRecord) -> None:
        self.used_ips.get(task.subnet, set()).discard(task.ip)
        if task.public_ip is not None:
            self._public_ips.discard(task.public_ip)

    def _pick_subnet(self, service: Service) -> str | None:
        """ECS's spread: the AZ with the fewest of the service's tasks, then the subnet;
        never an impaired AZ (None: the service has no subnet left)."""
        healthy = [
            key for key in service.subnets if self.plan.subnet(key).az not in self.impaired_azs
        ]
        if not healthy:
            return None
        active = self._active(service.key)
        per_az = Counter(t.az for t in active)
        per_subnet = Counter(t.subnet for t in active)
        return min(
            healthy,
            key=lambda key: (
                per_az[self.plan.subnet(key).az],
                per_subnet[key],
                service.subnets.index(key),
            ),
        )

    def _stop(self, task: TaskRecord, reason: str, *, drain: bool) -> list[Action]:
        if not task.active:
            return []
        task.stopped_reason = reason
        service = self.services[task.service].service
        if drain and service.load_balancers:
            task.last_status = "DEACTIVATING"
            task.health = "draining"
            return [StartDrain(task.id, self._groups_for(task))]
        return [self._stop_containers(task)]

    def _stop_containers(self, task: TaskRecord, *, deregister: bool = True) -> StopTask:
        task.last_status = "STOPPING"
        state = self.services[task.service]
        groups = self._groups_for(task) if deregister and state.service.load_balancers else ()
        timeouts = tuple(
            (c.name, c.stop_timeout * self.time_scale)
            for c in state.definitions[task.revision].containers
        )
        return StopTask(task.id, groups, timeouts)

    def _deployment(
        self, revision: int, rollout_state: RolloutState, started_at: float
    ) -> Deployment:
        return Deployment(
            id=f"ecs-svc/{next(self._deployment_numbers):019d}",
            revision=revision,
            status="PRIMARY",
            rollout_state=rollout_state,
            started_at=started_at,
        )


def has_container_checks(definition: TaskDefinition) -> bool:
    """ECS derives a task's health from its essential containers' health checks."""
    return any(c.essential and c.health_check is not None for c in definition.containers)


def _is_healthy(task: TaskRecord, service: Service) -> bool:
    if not service.load_balancers:
        return task.last_status == "RUNNING"
    return task.health == "healthy"


_WORST_FIRST: tuple[TargetHealth, ...] = ("unhealthy", "draining", "initial", "healthy")


def _worst(values: list[TargetHealth]) -> TargetHealth:
    for value in _WORST_FIRST:
        if value in values:
            return value
    return values[0]
