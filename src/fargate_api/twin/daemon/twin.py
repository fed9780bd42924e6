"""One running twin: builds the network, the load balancers and the services, then
keeps them as the templates say until it is told to stop.

This runs inside the twin's daemon process (daemon/main.py), which outlives `local up`. It
owns every namespace and process of the twin, so there is one place that builds and one
that tears down; if building fails half-way, the same teardown removes what exists.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial
from ipaddress import IPv4Address

from fargate_api.errors import UserError
from fargate_api.twin.autoscaling.target_tracking import Autoscaler
from fargate_api.twin.cloudwatch.alarms import AlarmEvaluator, sample_retention
from fargate_api.twin.cloudwatch.metrics import MetricStore
from fargate_api.twin.daemon import change_requests
from fargate_api.twin.daemon.contracts import (
    AlarmStatus,
    AutoscalingState,
    ClearFaultsRequest,
    ContainerStatus,
    DeploymentState,
    DeployRequest,
    FaultRequest,
    LaunchSpec,
    LoadBalancerState,
    Notice,
    Phase,
    RollbackRequest,
    ScaleRequest,
    ServiceState,
    ServiceSummary,
    StoppedTask,
    TaskState,
    TwinAnswer,
    TwinState,
)
from fargate_api.twin.daemon.internet_host import InternetHost
from fargate_api.twin.daemon.parts import (
    HaproxyPart,
    internet_gateway_part,
    nat_gateway_part,
    vpc_service_parts,
)
from fargate_api.twin.daemon.runtimes import containers_conf_path, make_runtime, sweep_runtime
from fargate_api.twin.daemon.state import DAEMON_LOG, StateDir
from fargate_api.twin.daemon.supervisor import Supervisor
from fargate_api.twin.daemon.vpc_services import RunningTaskView, VpcServices
from fargate_api.twin.ec2.addresses import ECHO_HOST, ECHO_PORT
from fargate_api.twin.ec2.security_groups import SecurityGroups
from fargate_api.twin.ec2.vpc import Network, teardown
from fargate_api.twin.ecs.scheduler import Scheduler
from fargate_api.twin.ecs.secrets import SecretResolver
from fargate_api.twin.ecs.service_scheduler import DeploymentRefusedError
from fargate_api.twin.elbv2.load_balancers import LoadBalancers
from fargate_api.twin.elbv2.names import (
    dns_name_of,
    domain_urls,
    listener_url,
    primary_listener,
)
from fargate_api.twin.fis.manager import FaultManager
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.load import load_plan
from fargate_api.twin.plan.model import LoadBalancer, TwinPlan

TICK = 0.5


class Twin:
    def __init__(
        self,
        names: TwinNames,
        plan: TwinPlan,
        spec: LaunchSpec,
        state: StateDir,
        secrets: SecretResolver | None = None,
    ) -> None:
        self.names = names
        self.plan = plan
        self.spec = spec
        self.state = state
        self.network = Network(names, plan)
        self.groups = SecurityGroups(names, plan)
        self.balancers = LoadBalancers(
            names=names,
            plan=plan,
            network=self.network,
            groups=self.groups,
            work_dir=state.path,
            time_scale=spec.time_scale,
            region=spec.region,
        )
        used: dict[str, set[IPv4Address]] = {}
        for nat in plan.nat_gateways:
            used.setdefault(nat.subnet, set()).add(nat.private_ip)
        for lb in plan.load_balancers:
            for node in lb.nodes:
                used.setdefault(node.subnet, set()).add(node.private_ip)
        self.runtime = make_runtime(names, spec, state, secrets or SecretResolver({}))
        self.scheduler = Scheduler(
            names=names,
            plan=plan,
            network=self.network,
            groups=self.groups,
            balancers=self.balancers,
            runtime=self.runtime,
            time_scale=spec.time_scale,
            used_ips=used,
            region=spec.region,
            dns_server=self.network.resolver,
            on_change=self.write_state,
        )
        self.vpc_services = VpcServices(
            names, plan, state, region=spec.region, assume_task_role=spec.assume_task_role
        )
        self.autoscaler = Autoscaler(
            plan.autoscaling,
            time_scale=spec.time_scale,
            request_total=self.balancers.request_total,
            healthy_targets=self._healthy_targets,
            desired=lambda key: self.scheduler.services[key].desired,
            scale=self._autoscale,
        )
        # `local fault`: the faults in force, healed by `tick` when their time is up.
        self.faults = FaultManager(
            names=names,
            plan=plan,
            scheduler=self.scheduler,
            balancers=self.balancers,
            vpc_services=self.vpc_services,
            log_dir=state.path,
            runtime=spec.runtime,
        )
        # The alarms deployments watch, evaluated from HAProxy's counters each tick.
        self.alarm_groups = sorted(
            {q.target_group for a in plan.alarms for q in a.queries if q.target_group}
        )
        self.alarms: AlarmEvaluator | None = None
        self.metrics: MetricStore | None = None
        self.internet = InternetHost(names, plan, state)
        # Every long-running part, probed each tick and restored when it fails.
        self.supervisor = Supervisor(self._part_event)
        self.phase: Phase = "building"
        self.error: str | None = None
        self.ready = False
        self._write_lock = threading.Lock()

    # ------------------------------------------------------------ lifecycle
    def build(self) -> None:
        self.write_state()
        self.network.build()
        self.vpc_services.start()
        self.balancers.start()
        self.internet.start(self.spec.port)
        self._supervise()
        self.autoscaler.start()
        if self.plan.alarms:
            scale = self.spec.time_scale
            self.metrics = MetricStore(sample_retention(self.plan.alarms, scale))
            self.alarms = AlarmEvaluator(
                self.plan.alarms, self.metrics, start=time.monotonic(), time_scale=scale
            )
        self.phase = "starting-tasks"
        self.write_state()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            request = change_requests.take(self.state)
            if request is not None:
                self._step("request", partial(self._handle, request))
            # Parts first: a crashed HAProxy is back before the steps that talk to it.
            self.supervisor.tick()
            # One step's error (HAProxy down a moment, a helper gone) is logged and the
            # loop goes on: no part of the twin takes the daemon down.
            self._step("autoscaling", self.autoscaler.tick)
            self._step("alarms", self._evaluate_alarms)
            self._step("scheduler", self.scheduler.tick)
            self._step("faults", lambda: self.faults.tick(time.time()))
            self._step("VPC services", lambda: self.vpc_services.update(self._running_tasks()))
            if not self.ready and self._all_healthy():
                self.ready = True
                self.phase = "running"
            self.write_state()
            stop.wait(TICK)

    def _step(self, what: str, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception as exc:  # logged; the next tick tries again
            self._part_event(f"{what} step failed: {type(exc).__name__}: {exc}")

    def _part_event(self, text: str) -> None:
        """A supervision event: in `local status`'s events and in the daemon's log."""
        self.scheduler.event(text)
        try:
            with self.state.file(DAEMON_LOG).open("a") as log:
                log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')} {text}\n")
        except OSError:
            pass

    def _supervise(self) -> None:
        """Every long-running part under the supervisor (daemon/parts.py)."""
        for lb in self.balancers.running:
            self.supervisor.add(HaproxyPart(self.balancers, lb.lb.key))
        for index in range(len(self.plan.nat_gateways)):
            self.supervisor.add(nat_gateway_part(self.network, index))
        if self.plan.internet_gateway:
            self.supervisor.add(internet_gateway_part(self.network))
        for part in [*vpc_service_parts(self.vpc_services), *self.internet.parts()]:
            self.supervisor.add(part)

    def shutdown(self) -> None:
        self.phase = "stopping"
        self.write_state()
        self.faults.shutdown()  # healed first: `down` then finds the twin as it was built
        try:
            self.scheduler.stop_all("Task stopped by local down")
        finally:
            self.runtime.close()
            sweep_runtime(self.names, self.state)
            self.vpc_services.stop()
            self.balancers.stop()
            self.internet.stop()
            teardown(self.names)
            self.phase = "stopped"
            self.write_state()

    def _handle(self, text: str) -> None:
        """`local deploy` and `local scale`, answered before the next tick; a malformed
        or refused request is answered `ok: false` and changes nothing."""
        change_requests.serve(self.state, text, self._apply)
        self.write_state()

    def _apply(self, request: change_requests.Request) -> TwinAnswer:
        if isinstance(request, FaultRequest | ClearFaultsRequest):
            return self._fault(request)
        if isinstance(request, ScaleRequest):
            key = self._service_key(request.service)
            self.scheduler.scale(key, request.desired)
            return TwinAnswer(id=request.id, ok=True, service=key)
        try:
            return self._change(request)
        except DeploymentRefusedError as exc:
            raise UserError(str(exc)) from None

    def _fault(self, request: FaultRequest | ClearFaultsRequest) -> TwinAnswer:
        """`local fault`: a UserError (bad input, or a step the host refused, undone)
        is answered `ok: false`, and the twin runs on; so is an unexpected error, logged
        like a failed step, since no fault may take the daemon down."""
        try:
            if isinstance(request, ClearFaultsRequest):
                return TwinAnswer(id=request.id, ok=True, cleared=self.faults.clear())
            return TwinAnswer(id=request.id, ok=True, fault=self.faults.apply(request))
        except UserError:
            raise
        except Exception as exc:
            self._part_event(f"fault step failed: {type(exc).__name__}: {exc}")
            raise UserError(
                f"the fault failed: {type(exc).__name__}: {exc}",
                fix="see `local status` and the twin's log (what it had done is undone)",
            ) from None

    def _change(self, request: DeployRequest | RollbackRequest) -> TwinAnswer:
        if isinstance(request, RollbackRequest):
            key = self._service_key(request.service)
            revision = self.scheduler.services[key].primary.revision
            self.scheduler.rollback(key)
            return TwinAnswer(id=request.id, ok=True, service=key, revisions={key: revision})
        mapping = {**self.spec.image_commands, **request.image_commands}
        new_plan = load_plan(
            [stack.input() for stack in request.stacks],
            image_commands=mapping,
            runtime=self.spec.runtime,
            parameters=request.parameters,
        )
        primary = {
            key: state.definitions[state.revision] for key, state in self.scheduler.services.items()
        }
        revisions = {}
        only = self._service_key(request.service) if request.service is not None else None
        for change in change_requests.changes(self.plan, new_plan, primary):
            if only is not None and change.service != only:
                continue
            service = next(s for s in new_plan.services if s.key == change.service)
            definition = new_plan.task_definition(service.task_definition)
            if change.new_definition:
                revisions[change.service] = self.scheduler.deploy(
                    change.service, definition, change.desired
                )
            elif change.desired is not None:
                self.scheduler.scale(change.service, change.desired)
        return TwinAnswer(id=request.id, ok=True, revisions=revisions)

    def _evaluate_alarms(self) -> None:
        """CloudWatch's part: a sample of each watched target group's counters, then every
        alarm period that closed; ECS learns of each change before its next decision."""
        if self.alarms is None or self.metrics is None:
            return
        now = time.monotonic()
        for group in self.alarm_groups:
            self.metrics.add(group, self.balancers.sample(group, at=now))
        for change in self.alarms.tick(now):
            self.scheduler.alarm_changed(change.alarm, change.new, change.reason)
            self.scheduler.event(f"alarm {change.name}: {change.old} -> {change.new}")

    def _alarm_statuses(self, keys: tuple[str, ...]) -> list[AlarmStatus]:
        statuses = []
        for key in keys:
            seen = self.scheduler.core.alarm_states.get(key)
            state, reason = (seen[0], seen[2]) if seen else ("INSUFFICIENT_DATA", "")
            statuses.append(
                AlarmStatus(key=key, name=self.plan.alarm(key).name, state=state, reason=reason)
            )
        return statuses

    def _running_tasks(self) -> list[RunningTaskView]:
        views = []
        for task in self.scheduler.tasks:
            running = self.scheduler.running(task.id)
            if running is not None and task.active:
                definition = self.scheduler.services[task.service].definitions[task.revision]
                views.append(RunningTaskView(task, running, definition))
        return views

    def _healthy_targets(self, service_key: str) -> int:
        return sum(
            t.health == "healthy" and t.active
            for t in self.scheduler.tasks
            if t.service == service_key
        )

    def _autoscale(self, service_key: str, desired: int, reason: str) -> None:
        self.scheduler.scale(service_key, desired)
        self.scheduler.event(f"autoscaling to {desired}: {reason}")

    def _service_key(self, name: str | None) -> str:
        services = self.plan.services
        if name is None:
            if len(services) != 1:
                raise UserError(
                    "these templates have several services",
                    fix="name one with --service: " + ", ".join(s.name for s in services),
                )
            return services[0].key
        for service in services:
            if name in (service.name, service.key):
                return service.key
        raise UserError(
            f"no service named {name!r}",
            fix="use one of: " + ", ".join(s.name for s in services),
        )

    def _all_healthy(self) -> bool:
        for service in self.plan.services:
            tasks = [t for t in self.scheduler.tasks if t.service == service.key and t.active]
            wanted = self.scheduler.services[service.key].desired
            if len(tasks) < wanted:
                return False
            if sum(self.scheduler.core.is_healthy(t) for t in tasks) < wanted:
                return False
        return True

    # ------------------------------------------------------------ state
    def status(self) -> TwinState:
        # The balancer `url` leads to: the first internet-facing one. An internal one has
        # no forwarder on this machine, so a twin with internal ones only has no URL.
        balancers = self.plan.load_balancers
        lb = next((b for b in balancers if b.internet_facing), balancers[0] if balancers else None)
        primary = primary_listener(lb) if lb else None
        url = None
        if (
            lb is not None
            and lb.internet_facing
            and primary
            and primary.port in self.internet.ports
        ):
            scheme = "https" if primary.protocol == "HTTPS" else "http"
            url = f"{scheme}://127.0.0.1:{self.internet.ports[primary.port]}"
        services = []
        for service in self.plan.services:
            tasks = [t for t in self.scheduler.tasks if t.service == service.key]
            state = self.scheduler.services[service.key]
            scaling = self.autoscaler.describe(service.key)
            services.append(
                ServiceState(
                    key=service.key,
                    name=service.name,
                    desired=state.desired,
                    running=sum(t.last_status == "RUNNING" for t in tasks),
                    revision=state.revision,
                    load_balanced=bool(service.load_balancers),
                    autoscaling=AutoscalingState.model_validate(scaling) if scaling else None,
                    strategy=service.deployment.strategy,
                    alarms=self._alarm_statuses(service.deployment.alarms),
                    deployments=[
                        DeploymentState(
                            id=d.id,
                            status=d.status,
                            revision=d.revision,
                            rollout_state=d.rollout_state,
                            reason=d.reason,
                            failed_tasks=d.failed_tasks,
                            strategy=d.strategy,
                            outcome=d.outcome,
                            lifecycle_stage=d.stage,
                            production_percent=None
                            if d.strategy == "ROLLING"
                            else d.production_percent,
                            test_percent=None if d.strategy == "ROLLING" else d.test_percent,
                            target_groups=list(d.target_groups),
                            triggered_alarms=list(d.triggered_alarms),
                            running=sum(
                                t.revision == d.revision and t.last_status == "RUNNING"
                                for t in tasks
                            ),
                            healthy=sum(
                                t.revision == d.revision and t.health == "healthy" for t in tasks
                            ),
                        )
                        for d in state.deployments
                    ],
                )
            )
        return TwinState(
            name=self.names.name,
            url=url,
            load_balancer=self._balancer_state(lb)
            if lb
            else LoadBalancerState(public_ips=[], listeners=[]),
            egress_ips=[str(n.public_ip) for n in self.plan.nat_gateways],
            internet_echo_url=f"http://{ECHO_HOST}:{ECHO_PORT}/"
            if self.plan.internet_gateway
            else None,
            service=ServiceSummary(
                desired=services[0].desired,
                running=services[0].running,
                revision=services[0].revision,
            )
            if services
            else None,
            tasks=[
                TaskState(
                    id=t.id,
                    private_ip=str(t.ip),
                    subnet=t.subnet,
                    az=t.az,
                    health=t.health if t.last_status != "DEACTIVATING" else "draining",
                    revision=t.revision,
                    last_status=t.last_status,
                    service=t.service,
                    container_health=t.container_health,
                    containers=self._containers(t.id),
                )
                for t in self.scheduler.tasks
            ],
            phase=self.phase,
            ready=self.ready,
            error=self.error,
            ports={str(k): v for k, v in self.internet.ports.items()},
            services=services,
            stopped_tasks=[
                StoppedTask(
                    id=t.id,
                    reason=t.stopped_reason,
                    exit_codes=t.exit_codes,
                    container_reasons=t.container_reasons,
                )
                for t in self.scheduler.stopped
            ],
            events=self.scheduler.events[-20:],
            notices=[
                Notice(resource=n.resource, type=n.type, reason=n.reason) for n in self.plan.notices
            ],
            stop_timeout=max(
                (
                    container.stop_timeout * self.spec.time_scale
                    for state in self.scheduler.services.values()
                    for definition in state.definitions.values()
                    for container in definition.containers
                ),
                default=0.0,
            ),
            updated_at=time.time(),
            runtime=self.runtime.kind,
            containers_conf=str(containers_conf_path(self.state))
            if self.runtime.kind == "container"
            else None,
            domain_urls=domain_urls(self.plan),
            ca_file=str(self.balancers.ca.cert) if self.balancers.has_https else None,
            ca_bundle=str(self.balancers.ca_bundle) if self.balancers.has_https else None,
            parts=self.supervisor.statuses(),
            faults=self.faults.active(),
            availability_zones=self.faults.availability_zones(),
            load_balancers=[self._balancer_state(b) for b in balancers],
        )

    def _balancer_state(self, lb: LoadBalancer) -> LoadBalancerState:
        dns_name = dns_name_of(lb, self.names.tag, self.spec.region)
        primary = primary_listener(lb)
        return LoadBalancerState(
            public_ips=[str(n.public_ip) for n in lb.nodes if n.public_ip is not None],
            listeners=[listener.port for listener in lb.listeners],
            dns_names=[dns_name],
            internal=not lb.internet_facing,
            private_ips=[str(n.private_ip) for n in lb.nodes],
            vpc_url=listener_url(primary, dns_name) if primary and not lb.internet_facing else None,
        )

    def _containers(self, task_id: str) -> list[ContainerStatus]:
        running = self.scheduler.running(task_id)
        if running is None:
            return []
        return [
            ContainerStatus(
                name=view.name,
                runtime_id=view.runtime_id,
                image=view.image,
                last_status=view.last_status,
                health=view.health,
                exit_code=view.exit_code,
                reason=view.reason,
                essential=view.essential,
            )
            for view in running.containers()
        ]

    def write_state(self) -> None:
        with self._write_lock:
            self.state.write_state(self.status())
