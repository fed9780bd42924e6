#!/usr/bin/env bash
# `make demo`: bring up the local twin with the example API (examples/api) and show it
# serving: requests spread across the tasks, each task's egress IP, no way in but the ALB.
#
# The twin is left running (that is the point of a demo); the script ends by saying how
# to look at it and how to remove it. Run as root: the twin builds network namespaces.
set -euo pipefail

NAME="${DEMO_NAME:-demo}"
CLI="${CLI:-.venv/bin/fargate-api}"
CONFIG="${DEMO_CONFIG:-examples/api/fargate-api.toml}"  # its [local] command is repo-relative
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    echo "make demo: the local twin needs root (network namespaces, nftables): run 'sudo make demo'" >&2
    exit 2
fi

say "removing an earlier demo twin, if any"
"$CLI" local down --name "$NAME"

if command -v podman >/dev/null 2>&1; then
    # `local up` builds the example's image itself, from examples/api/Dockerfile (the
    # config's `build = "."`), into podman's store, and runs it: no push, no registry.
    # Its base comes from ECR Public; where that cannot be pulled (no internet), a python
    # built from Debian's packages is tagged with the base's name and stands in for it.
    BASE_IMAGE="public.ecr.aws/docker/library/python:3.12-slim-bookworm"
    SCRATCH="$(mktemp -d /tmp/fa-demo-XXXXXX)"
    trap 'rm -rf "$SCRATCH"' EXIT
    export CONTAINERS_CONF="$SCRATCH/containers.conf"
    .venv/bin/python -c 'import pathlib, sys; from fargate_api.twin.host.containers_conf import write_containers_conf; write_containers_conf(pathlib.Path(sys.argv[1]))' "$CONTAINERS_CONF"
    if ! podman image exists "$BASE_IMAGE" && ! timeout 300 podman pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
        say "no registry reachable for $BASE_IMAGE: a python built from Debian's packages stands in for it (mmdebstrap; about a minute, once)"
        .venv/bin/python tests/images/build_test_images.py --only python
        if ! podman image exists "$BASE_IMAGE"; then
            echo "make demo: $BASE_IMAGE is still not in podman's store" >&2
            exit 1
        fi
    fi
    unset CONTAINERS_CONF
fi

say "fargate-api local up --name $NAME ${CONFIG:+-c $CONFIG}"
"$CLI" local up --name "$NAME" ${CONFIG:+-c "$CONFIG"}
STATUS="$("$CLI" local status --name "$NAME" --json)"
URL="$(printf '%s' "$STATUS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')"
ALB_IP="$(printf '%s' "$STATUS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["load_balancer"]["public_ips"][0])')"
ECHO_URL="$(printf '%s' "$STATUS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["internet_echo_url"])')"

say "6 requests from the internet host through the load balancer ($ALB_IP): GET /whoami"
for _ in 1 2 3 4 5 6; do
    "$CLI" local exec --name "$NAME" --internet -- curl -s --max-time 5 "http://$ALB_IP/whoami" \
        | python3 -c 'import json,sys; d=json.load(sys.stdin); print("task {} ip {} az {} egress {}".format(d["task_id"][:8], d["private_ip"], d["availability_zone"], d["egress_ip"]))'
done

say "the same service from this host: $URL"
curl -s --max-time 5 "$URL/whoami"; echo

say "each task's egress IP, as the internet sees it (the NAT gateways' EIPs)"
for task in $(printf '%s' "$STATUS" | python3 -c 'import json,sys; [print(t["id"]) for t in json.load(sys.stdin)["tasks"]]'); do
    printf 'task %s -> ' "${task:0:8}"
    # python, not curl: slim images have no curl. In process mode this runs on this host.
    "$CLI" local exec --name "$NAME" "$task" -- python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().strip())' "$ECHO_URL"
done

say "the internet cannot reach a task directly (private subnet, security group)"
TASK_IP="$(printf '%s' "$STATUS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tasks"][0]["private_ip"])')"
if "$CLI" local exec --name "$NAME" --internet -- curl -s --max-time 2 "http://$TASK_IP/" >/dev/null; then
    echo "UNEXPECTED: the internet reached $TASK_IP" >&2
    exit 1
fi
echo "curl http://$TASK_IP/ from the internet host: no route (as on AWS)"

cat >&2 <<EOT

The twin '$NAME' keeps running. Try:
  $CLI local status --name $NAME
  $CLI local logs --name $NAME --follow
  $CLI local exec --name $NAME --internet -- curl -s http://$ALB_IP/docs   # OpenAPI
  $CLI local exec --name $NAME <task id> -- id        # runs in the container, as ECS Exec
  # a rolling deploy under load: edit the app in examples/api (or a variable in $CONFIG), then
  $CLI local exec --name $NAME --internet -- wrk -t2 -c8 -d40s http://$ALB_IP/whoami &
  $CLI local deploy --name $NAME -c $CONFIG   # rebuilds the image; wrk: 0 errors, 0 non-2xx
  $CLI local scale 4 --name $NAME
  $CLI local fault az-outage us-east-1a --duration 60 --name $NAME   # ECS moves the tasks; the other AZ keeps its egress IP
  kill -9 \$(pgrep -f 'haproxy -db -f /run/fargate-api/fa-$NAME-twin/') ; $CLI local status --name $NAME   # the daemon restarts it: see the parts table
  $CLI local down --name $NAME        # removes everything
EOT
