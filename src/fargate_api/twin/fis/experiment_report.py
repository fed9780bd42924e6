"""From an experiment's raw samples to its report: per-second rows, totals, time to
recover, egress continuity per AZ and the verdict on each stop condition. Pure: no
clock, no twin, so every judgement here is unit-tested on made-up samples.

Latency percentiles are over the requests that got an answer (a failed request's
"latency" is mostly its timeout, which would only measure the timeout): failures are
judged by the failed ratio. Percentiles use the nearest-rank method, so p99 is a latency
some request really had.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

from fargate_api.twin.fis.experiment_contracts import (
    AzEgress,
    ConditionVerdict,
    EgressSample,
    ExperimentReport,
    FaultWindow,
    Recovery,
    RequestSample,
    SecondRow,
    StatusSample,
    Totals,
)
from fargate_api.twin.fis.experiment_file import ExperimentFile

# Faults that take an AZ's egress down on purpose: that AZ is exempt from continuity.
AZ_FAULTS = frozenset({"az-outage", "nat-gateway-loss"})


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0-100); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def build_report(
    spec: ExperimentFile,
    *,
    experiment: str,
    twin: str,
    started_at: float,
    requests: Sequence[RequestSample],
    egress: Sequence[EgressSample],
    statuses: Sequence[StatusSample],
    faults: Sequence[FaultWindow],
    interrupted: bool = False,
) -> ExperimentReport:
    totals = _totals(requests)
    recovery = time_to_recover(statuses, faults)
    continuity = egress_continuity(egress, faults)
    conditions = judge(spec, totals, recovery, continuity)
    return ExperimentReport(
        experiment=experiment,
        description=spec.description,
        twin=twin,
        started_at=started_at,
        duration=spec.load.duration,
        rate=spec.load.rate,
        interrupted=interrupted,
        rows=per_second(requests, egress, statuses, faults, spec.load.duration),
        totals=totals,
        recovery=recovery,
        egress=continuity,
        faults=list(faults),
        conditions=conditions,
        passed=not interrupted and all(c.passed for c in conditions),
    )


def per_second(
    requests: Sequence[RequestSample],
    egress: Sequence[EgressSample],
    statuses: Sequence[StatusSample],
    faults: Sequence[FaultWindow],
    duration: float,
) -> list[SecondRow]:
    """One row per second of load, up to the last second with a sample (an interrupted
    run stops early): a request counts in the second it was due; the status is the
    latest read by the end of that second."""
    last = max([*(r.t for r in requests), *(s.t for s in statuses)], default=0.0)
    seconds = max(1, min(math.ceil(duration), math.floor(last) + 1))
    rows = []
    ordered = sorted(statuses, key=lambda s: s.t)
    for second in range(seconds):
        due = [r for r in requests if second <= r.t < second + 1]
        answered = [r.latency_ms for r in due if r.ok]
        status = next((s for s in reversed(ordered) if s.t < second + 1), None)
        probes = [p for p in egress if second <= p.t < second + 1]
        rows.append(
            SecondRow(
                t=second,
                requests=len(due),
                failed=sum(not r.ok for r in due),
                p50_ms=_rounded(percentile(answered, 50)),
                p99_ms=_rounded(percentile(answered, 99)),
                healthy=status.healthy if status else None,
                desired=status.desired if status else None,
                egress_ok=dict(Counter(p.az for p in probes if p.ip is not None)),
                egress_failed=dict(Counter(p.az for p in probes if p.ip is None)),
                faults=[f.id for f in faults if _overlaps(f, second, second + 1)],
            )
        )
    return rows


def _overlaps(fault: FaultWindow, start: float, end: float) -> bool:
    return fault.start < end and (fault.end is None or fault.end > start)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _totals(requests: Sequence[RequestSample]) -> Totals:
    answered = [r.latency_ms for r in requests if r.ok]
    failed = [r for r in requests if not r.ok]
    errors = Counter(r.error or (f"HTTP {r.status}" if r.status else "failed") for r in failed)
    return Totals(
        requests=len(requests),
        failed=len(failed),
        failed_ratio=len(failed) / len(requests) if requests else 0.0,
        p50_ms=_rounded(percentile(answered, 50)),
        p99_ms=_rounded(percentile(answered, 99)),
        errors=dict(errors.most_common()),
    )


def time_to_recover(statuses: Sequence[StatusSample], faults: Sequence[FaultWindow]) -> Recovery:
    """From the first fault's start until the healthy count is back at the desired one,
    after it dropped below; never-dropped when it never did, not-recovered when it never
    came back before the samples ended."""
    if not faults:
        return Recovery(outcome="no-fault", seconds=None)
    first = min(f.start for f in faults)
    after = sorted((s for s in statuses if s.t >= first), key=lambda s: s.t)
    dropped = next((s for s in after if s.healthy < s.desired), None)
    if dropped is None:
        return Recovery(outcome="never-dropped", seconds=None)
    lowest = min(s.healthy for s in after if s.t >= dropped.t)
    back = next((s for s in after if s.t > dropped.t and s.healthy >= s.desired), None)
    if back is None:
        return Recovery(
            outcome="not-recovered", seconds=None, dropped_at=dropped.t, lowest_healthy=lowest
        )
    return Recovery(
        outcome="recovered",
        seconds=round(back.t - first, 1),
        dropped_at=dropped.t,
        lowest_healthy=min(s.healthy for s in after if dropped.t <= s.t < back.t),
    )


def egress_continuity(
    egress: Sequence[EgressSample], faults: Sequence[FaultWindow]
) -> list[AzEgress]:
    """Per AZ: the egress IPs seen before, during and after the faults, and the failed
    probes. Continuous: one IP throughout and no probe failed. An AZ the experiment
    failed on purpose (az-outage, nat-gateway-loss) is exempt from the verdict."""
    exempt = {f.az for f in faults if f.action in AZ_FAULTS and f.az}
    if faults:
        first = min(f.start for f in faults)
        in_force = min(f.in_force for f in faults)
        ends = [f.end for f in faults]
        last = math.inf if any(e is None for e in ends) else max(e for e in ends if e is not None)
    else:
        first = in_force = last = math.inf
    found = []
    for az in sorted({p.az for p in egress}):
        probes = sorted((p for p in egress if p.az == az), key=lambda p: p.t)
        failures = [p for p in probes if p.ip is None]
        seen = {p.ip for p in probes if p.ip is not None}
        found.append(
            AzEgress(
                az=az,
                exempt=az in exempt,
                before=_distinct(p.ip for p in probes if p.t < first),
                during=_distinct(p.ip for p in probes if in_force <= p.t < last),
                after=_distinct(p.ip for p in probes if p.t >= last),
                probes=len(probes),
                failed=len(failures),
                first_failure=failures[0].t if failures else None,
                continuous=not failures and len(seen) <= 1,
            )
        )
    return found


def _distinct(ips: Iterable[str | None]) -> list[str]:
    found: list[str] = []
    for ip in ips:
        if ip is not None and ip not in found:
            found.append(ip)
    return found


def judge(
    spec: ExperimentFile, totals: Totals, recovery: Recovery, egress: Sequence[AzEgress]
) -> list[ConditionVerdict]:
    """One verdict per stop condition the file sets."""
    stop = spec.stop
    verdicts = []
    if stop.max_failed_ratio is not None:
        verdicts.append(
            ConditionVerdict(
                name="max_failed_ratio",
                limit=f"{stop.max_failed_ratio:.2%}",
                measured=f"{totals.failed_ratio:.2%} ({totals.failed}/{totals.requests})",
                passed=totals.failed_ratio <= stop.max_failed_ratio,
            )
        )
    if stop.max_p99_ms is not None:
        p99 = totals.p99_ms
        verdicts.append(
            ConditionVerdict(
                name="max_p99_ms",
                limit=f"{stop.max_p99_ms:g} ms",
                measured="no answered request" if p99 is None else f"{p99:g} ms",
                passed=p99 is not None and p99 <= stop.max_p99_ms,
            )
        )
    if stop.recover_within is not None:
        verdicts.append(_recovery_verdict(stop.recover_within, recovery))
    if stop.egress == "continuous":
        verdicts.append(_egress_verdict(egress))
    return verdicts


def _recovery_verdict(limit: float, recovery: Recovery) -> ConditionVerdict:
    words = {
        "no-fault": "no fault injected",
        "never-dropped": "never below the desired count",
        "not-recovered": "not recovered",
    }
    if recovery.seconds is not None:
        measured = f"{recovery.seconds:g} s"
    else:
        measured = words.get(recovery.outcome, recovery.outcome)
    passed = recovery.outcome in ("no-fault", "never-dropped") or (
        recovery.seconds is not None and recovery.seconds <= limit
    )
    return ConditionVerdict(
        name="recover_within", limit=f"{limit:g} s", measured=measured, passed=passed
    )


def _egress_verdict(egress: Sequence[AzEgress]) -> ConditionVerdict:
    judged = [az for az in egress if not az.exempt]
    broken = [az for az in judged if not az.continuous]
    if not judged:
        measured = "no AZ left to judge (every AZ with probes was failed on purpose)"
    elif not broken:
        measured = f"one IP per AZ throughout ({_dedupe_text(judged)})"
    else:
        measured = "; ".join(_breach(az) for az in broken)
    return ConditionVerdict(
        name="egress",
        limit="continuous (surviving AZs keep their egress IP)",
        measured=measured,
        passed=bool(judged) and not broken,
    )


def _dedupe_text(azs: Sequence[AzEgress]) -> str:
    return "; ".join(
        f"{az.az}: {', '.join(_distinct([*az.before, *az.during, *az.after])) or '-'}" for az in azs
    )


def _breach(az: AzEgress) -> str:
    ips = _distinct([*az.before, *az.during, *az.after])
    parts = []
    if az.failed:
        parts.append(f"{az.failed}/{az.probes} probes failed from t={az.first_failure:g} s")
    if len(ips) > 1:
        parts.append(f"egress IP changed: {' -> '.join(ips)}")
    return f"{az.az}: {', '.join(parts)}"
