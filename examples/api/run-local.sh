#!/bin/sh
# Runs fargate-example-api from this checkout: the local twin's `[local] command`
# (fargate-api.toml), also handy by hand: examples/api/run-local.sh --port 8080
#
# The twin starts a task as `sh -c COMMAND` with a minimal environment (PATH without any
# virtualenv), where the system python3 has no FastAPI. This script finds the
# repository's .venv from its own location, whatever the working directory, and puts
# examples/api/src on PYTHONPATH, so nothing has to be installed.
set -eu

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
repo=$(CDPATH='' cd -- "$here/../.." && pwd)

python="$repo/.venv/bin/python"
if [ ! -x "$python" ]; then
    python=python3
fi
PYTHONPATH="$here/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH

if ! "$python" -c 'import fastapi, httpx, uvicorn' 2>/dev/null; then
    echo "run-local.sh: $python cannot import fastapi, httpx and uvicorn;" \
        "run 'make install' (or .venv/bin/pip install -e '.[dev]') in $repo" >&2
    exit 127
fi

# exec: the server gets the twin's SIGTERM directly and its exit status is the task's.
exec "$python" -m fargate_example_api "$@"
