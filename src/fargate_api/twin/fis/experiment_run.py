"""Runs one experiment against a running twin: the load and the egress probes start,
each fault is sent at its time, state.json is read once a second, and when the load
ends every fault is cleared and the report computed.

The twin is driven only through its public doors (the daemon's request file, the same
FaultRequest and ClearFaultsRequest `local fault` sends, and state.json), so an
experiment sees what a user would. However the run ends (the load over, a refused fault,
Ctrl-C), the faults are cleared before it returns: an experiment never leaves a twin
impaired.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fargate_api.errors import CliError, OperationError, UserError
from fargate_api.twin.daemon import change_requests
from fargate_api.twin.daemon.contracts import (
    ClearFaultsRequest,
    FaultRequest,
    TwinState,
)
from fargate_api.twin.daemon.state import StateDir
from fargate_api.twin.ec2.addresses import INTERNET_DNS
from fargate_api.twin.fis.egress_probe import EgressProbe
from fargate_api.twin.fis.experiment_contracts import (
    ExperimentReport,
    FaultWindow,
    StatusSample,
)
from fargate_api.twin.fis.experiment_file import ExperimentFile, FaultStep
from fargate_api.twin.fis.experiment_report import build_report
from fargate_api.twin.fis.load_generator import (
    Endpoint,
    LoadGenerator,
    NamespaceSockets,
    resolve_a,
)
from fargate_api.twin.naming import TwinNames

TICK = 0.05
SAMPLE_EVERY = 1.0
Progress = Callable[[str], None]


class FaultRefusedError(UserError):
    """The daemon refused a fault of the file (an unknown AZ, task or service...)."""


def endpoint_for(status: TwinState) -> Endpoint:
    """The load balancer's primary listener as a client reaches it: HTTPS with the twin's
    CA when there is an HTTPS listener and a domain its certificate names; else HTTP on
    the first other listener."""
    balancer = status.load_balancer
    listeners = balancer.listeners if balancer else []
    host = balancer.dns_names[0] if balancer and balancer.dns_names else ""
    if 443 in listeners and status.domain_urls and status.ca_bundle:
        domain = status.domain_urls[0].split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
        return Endpoint(scheme="https", port=443, host=domain, ca_file=status.ca_bundle)
    plain = [port for port in listeners if port != 443]
    port = 80 if 80 in plain else (plain[0] if plain else 80)
    return Endpoint(scheme="http", port=port, host=host)


def check_fault_targets(spec: ExperimentFile, status: TwinState) -> None:
    """An AZ the twin has no subnet in is bad input, refused before any load runs; so is
    a twin whose load balancers the internet host cannot reach (internal ones only)."""
    balancer = status.load_balancer
    if balancer is None or balancer.internal:
        raise UserError(
            f"twin {status.name!r} has no internet-facing load balancer for the load to go to",
            fix="an experiment loads the service from the twin's internet host; run it on "
            "templates with an internet-facing ALB (Scheme: internet-facing)",
        )
    zones = status.availability_zones
    if not zones:
        return
    for index, fault in enumerate(spec.faults):
        if fault.az is not None and fault.az not in zones:
            raise UserError(
                f"faults[{index}].az = {fault.az!r}: twin {status.name!r} has no subnet there",
                fix=f"use one of: {', '.join(zones)}",
            )


@dataclass
class ExperimentRun:
    spec: ExperimentFile
    experiment: str
    names: TwinNames
    progress: Progress = lambda _: None
    windows: list[FaultWindow] = field(default_factory=list)
    statuses: list[StatusSample] = field(default_factory=list)
    _tasks: list[tuple[str, str]] = field(default_factory=list)
    _started_at: float = 0.0  # wall clock when the load started

    @property
    def state(self) -> StateDir:
        return StateDir(self.names)

    def run(self) -> ExperimentReport:
        """The report; `interrupted` when Ctrl-C ended the load early (the faults are
        cleared either way). A refused fault raises FaultRefusedError after the clean-up."""
        status = self._read()
        if status is None:
            raise OperationError(f"twin {self.names.name!r} wrote no state")
        sockets = NamespaceSockets(self.names.internet)
        load = LoadGenerator(
            sockets,
            endpoint_for(status),
            path=self.spec.load.path,
            rate=self.spec.load.rate,
            duration=self.spec.load.duration,
            timeout=self.spec.load.timeout_ms / 1000,
        )
        probe = EgressProbe(self.names, lambda: list(self._tasks))
        self._observe(status, sockets, load)
        start = time.monotonic()
        started_at = self._started_at = time.time()
        load.start(start)
        probe.start(start)
        interrupted = False
        try:
            self._drive(start, sockets, load)
        except KeyboardInterrupt:
            interrupted = True
            self.progress("interrupted: clearing the faults, writing the partial report…")
        finally:
            load.stop()
            cleared_at = time.monotonic() - start
            self._clear(cleared_at)
            load.wait(self.spec.load.timeout_ms / 1000 + 2)
            probe.stop()
            sockets.close()
        final = self._read()
        if final is not None:
            self._sample(final, time.monotonic() - start)
        return build_report(
            self.spec,
            experiment=self.experiment,
            twin=self.names.name,
            started_at=started_at,
            requests=load.samples(),
            egress=probe.samples(),
            statuses=self.statuses,
            faults=self.windows,
            interrupted=interrupted,
        )

    def _drive(self, start: float, sockets: NamespaceSockets, load: LoadGenerator) -> None:
        pending = sorted(self.spec.faults, key=lambda f: f.at)
        next_sample = 0.0
        while True:
            now = time.monotonic() - start
            while pending and pending[0].at <= now:
                self._inject(pending.pop(0), now)
            if now >= next_sample:
                status = self._read()
                if status is not None:
                    self._sample(status, now)
                    self._observe(status, sockets, load)
                    self._report_progress(now, load)
                next_sample += SAMPLE_EVERY
            if load.done() and now >= self.spec.load.duration:
                return
            time.sleep(TICK)

    def _inject(self, step: FaultStep, now: float) -> None:
        request = FaultRequest(
            kind="fault",
            id=change_requests.new_id(),
            action=step.action,
            duration=step.duration,
            az=step.az,
            task=step.task,
            service=step.service,
            percent=step.percent,
            ms=step.ms,
            jitter_ms=step.jitter_ms,
            port=step.port,
            protocol=step.protocol,
            traffic=step.traffic,
        )
        answer = change_requests.send(self.state, request)
        if not answer.ok or answer.fault is None:
            raise FaultRefusedError(
                f"the twin refused the fault at t={step.at:g} s ({step.action}): "
                f"{answer.error or 'no reason given'}",
                fix="correct the fault in the experiment file; the values above are the valid ones",
            )
        fault = answer.fault
        # The daemon stamps the fault once every step is in place; its heal is counted
        # from then (both clocks are this machine's wall clock).
        in_force = max(now, fault.started_at - self._started_at)
        self.windows.append(
            FaultWindow(
                id=fault.id,
                action=fault.action,
                target=fault.target,
                az=fault.az,
                start=round(now, 2),
                in_force=round(in_force, 2),
                end=None if step.duration is None else round(in_force + step.duration, 2),
                did=fault.did,
            )
        )
        self.progress(f"t={now:.0f} s: fault {fault.id} {fault.action} {fault.target}: {fault.did}")

    def _clear(self, now: float) -> None:
        """Ends every fault in force (best effort: a daemon that is gone has none)."""
        with contextlib.suppress(CliError, OSError):
            change_requests.send(
                self.state, ClearFaultsRequest(kind="clear-faults", id=change_requests.new_id())
            )
        self.windows = [
            w.model_copy(update={"end": round(now, 2)}) if w.end is not None and w.end > now else w
            for w in self.windows
        ]

    def _read(self) -> TwinState | None:
        try:
            return self.state.read_state()
        except (OperationError, OSError):
            return None

    def _sample(self, status: TwinState, now: float) -> None:
        self.statuses.append(
            StatusSample(
                t=round(now, 2),
                healthy=sum(t.health == "healthy" for t in status.tasks),
                desired=sum(s.desired for s in status.services),
                running=sum(s.running for s in status.services),
                faults=[f.id for f in status.faults],
            )
        )

    def _observe(self, status: TwinState, sockets: NamespaceSockets, load: LoadGenerator) -> None:
        """The tasks to probe and the load balancer addresses to load, as of now."""
        self._tasks = [
            (t.id, t.az)
            for t in status.tasks
            if t.last_status == "RUNNING" and t.health != "draining"
        ]
        load.set_targets(targets(status, sockets))

    def _report_progress(self, now: float, load: LoadGenerator) -> None:
        samples = load.samples()
        failed = sum(not s.ok for s in samples)
        last = self.statuses[-1] if self.statuses else None
        health = f", healthy {last.healthy}/{last.desired}" if last else ""
        self.progress(
            f"t={now:.0f}/{self.spec.load.duration:g} s: {len(samples)} requests, "
            f"{failed} failed{health}"
        )


def targets(status: TwinState, sockets: NamespaceSockets) -> list[str]:
    """The load balancer's addresses as the internet's resolver answers its name now (it
    leaves out a node in an impaired AZ, as Route 53 does); state.json's public IPs when
    the name cannot be resolved."""
    balancer = status.load_balancer
    if balancer is None:
        return []
    for name in balancer.dns_names[:1]:
        with contextlib.suppress(OSError, ValueError, TimeoutError):
            found = resolve_a(sockets, name, str(INTERNET_DNS))
            if found:
                return found
    return list(balancer.public_ips)


def write_report(report: ExperimentReport, folder: Path) -> tuple[Path, Path]:
    """report.json and report.png in `folder`."""
    from fargate_api.twin.fis.experiment_plot import write_plot  # noqa: PLC0415 (matplotlib)

    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / "report.json"
    json_path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    png_path = folder / "report.png"
    write_plot(report, png_path)
    return json_path, png_path
