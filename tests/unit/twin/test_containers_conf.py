"""The twin's containers.conf: podman settings and ulimits derived from this machine."""

from __future__ import annotations

import resource
import tomllib
from pathlib import Path

from fargate_api.twin.host.containers_conf import (
    FARGATE_NOFILE,
    NPROC_CEILING,
    containers_conf_text,
    write_containers_conf,
)


def _ulimits(text: str) -> dict[str, str]:
    parsed = tomllib.loads(text)
    return dict(item.split("=", 1) for item in parsed["containers"]["default_ulimits"])


def test_engine_settings_work_without_systemd_or_crun() -> None:
    engine = tomllib.loads(containers_conf_text(20000, 4096))["engine"]
    assert engine == {"runtime": "runc", "cgroup_manager": "cgroupfs", "events_logger": "file"}


def test_nofile_is_fargates_default_when_the_machine_allows_it() -> None:
    assert _ulimits(containers_conf_text(1_048_576, 4096))["nofile"] == "65535:65535"


def test_nofile_is_capped_by_the_machines_hard_limit() -> None:
    limits = _ulimits(containers_conf_text(20000, 4096))
    assert limits == {"nofile": "20000:20000", "nproc": "4096:4096"}


def test_unlimited_hard_limits_become_numbers() -> None:
    inf = resource.RLIM_INFINITY
    limits = _ulimits(containers_conf_text(inf, inf))
    assert limits["nofile"] == f"{FARGATE_NOFILE}:{FARGATE_NOFILE}"
    assert limits["nproc"] == f"{NPROC_CEILING}:{NPROC_CEILING}"


def test_written_file_matches_this_process_limits(tmp_path: Path) -> None:
    path = write_containers_conf(tmp_path / "twin" / "containers.conf")
    assert path == tmp_path / "twin" / "containers.conf"
    limits = _ulimits(path.read_text())
    soft, hard = limits["nofile"].split(":")
    assert soft == hard
    nofile_hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if nofile_hard != resource.RLIM_INFINITY:
        assert int(hard) == min(FARGATE_NOFILE, nofile_hard)
    nproc = int(limits["nproc"].split(":")[1])
    nproc_hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    assert 0 < nproc <= (NPROC_CEILING if nproc_hard == resource.RLIM_INFINITY else nproc_hard)
    assert not list(tmp_path.glob("twin/*.tmp"))
