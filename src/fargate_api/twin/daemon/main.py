"""The process that owns a running twin: `python -m fargate_api.twin.daemon.main --state-dir D`.

`local up` starts it in its own session and returns once the twin is ready; the daemon
keeps the services running (replacing crashed or unhealthy tasks) until `local down`
sends SIGTERM. Whatever happens, build failure included, it tears down what it built
and records why in state.json, where `local up` reads it.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback
from pathlib import Path

from fargate_api.errors import CliError
from fargate_api.twin.daemon.contracts import LocalSecretValues, TwinState
from fargate_api.twin.daemon.runtimes import sweep_runtime
from fargate_api.twin.daemon.state import DAEMON_LOG, PID_FILE, StateDir
from fargate_api.twin.daemon.twin import Twin
from fargate_api.twin.ec2.vpc import teardown
from fargate_api.twin.ecs.secrets import SecretResolver
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.load import load_plan


def read_secret_values() -> LocalSecretValues:
    """The secret values `local up` wrote to our stdin (a pipe it closed); nothing when
    stdin is not a pipe (a daemon started by hand, or by an older `local up`)."""
    if sys.stdin is None or sys.stdin.isatty():
        return LocalSecretValues()
    text = sys.stdin.read()
    sys.stdin.close()
    return LocalSecretValues.model_validate_json(text) if text.strip() else LocalSecretValues()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fargate_api.twin.daemon.main")
    # The state folder is named with the twin's prefix, so the daemon's command line
    # carries it, and sweeps by prefix find the daemon too.
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    names = TwinNames.from_state_dir(args.state_dir)
    state = StateDir(names)
    state.file(PID_FILE).write_text(f"{os.getpid()}\n")
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    twin: Twin | None = None
    code = 0
    try:
        spec = state.read_launch()
        secrets = read_secret_values()
        plan = load_plan(
            [stack.input() for stack in spec.stacks],
            image_commands=spec.image_commands,
            runtime=spec.runtime,
            parameters=spec.parameters,
        )
        twin = Twin(names, plan, spec, state, SecretResolver(secrets.values))
        twin.build()
        if not stop.is_set():
            twin.run(stop)
    except Exception as exc:
        code = 1
        message = exc.render() if isinstance(exc, CliError) else f"{type(exc).__name__}: {exc}"
        with state.file(DAEMON_LOG).open("a") as log:
            log.write(traceback.format_exc())
        if twin is not None:
            twin.error = message
            twin.phase = "failed"
            twin.write_state()
        else:
            state.write_state(TwinState(name=names.name, phase="failed", error=message))
    finally:
        try:
            if twin is not None:
                failed = twin.phase == "failed"
                twin.shutdown()
                if failed:
                    twin.phase = "failed"
                    twin.write_state()
        finally:
            sweep_runtime(names, state)
            teardown(names)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
