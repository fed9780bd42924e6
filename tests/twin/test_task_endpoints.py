"""The task metadata v4 and credentials endpoint at 169.254.170.2, as tasks reach it.

The server runs in a hand-built VPC router namespace (tests/twin/test_vpc_dns.MiniVpc)
where 169.254.170.2 is a loopback address, as the daemon starts it; requests come from
task namespaces through their default route, so the server sees each task's own private
IP. The STS case runs a moto server on the router namespace's own loopback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fargate_api.twin.ecs.endpoint_contracts import (
    EndpointContainer,
    EndpointTask,
    TaskEndpoints,
)
from fargate_api.twin.servers.task_endpoints import EXIT_BAD_DOCUMENT
from twin.test_vpc_dns import MiniVpc, run_in

ACCOUNT = "123456789012"
TASK_ID = "0123456789abcdef0123456789abcdef"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/api-task"
ACCESS_KEY = "AKIAFAKEFORTWINTESTS"
SECRET_KEY = "fake-secret-never-logged-0123456789"
MOTO_PORT = 5000

# Run in a task namespace: GET a URL, print {"status": ..., "body": ...}.
GET = """
import json, sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        status, body = r.status, r.read()
except urllib.error.HTTPError as e:
    status, body = e.code, e.read()
print(json.dumps({"status": status, "body": json.loads(body)}))
"""


def endpoint_task(ip: str, subnet: str, gateway: str, *, role: str | None = ROLE) -> EndpointTask:
    return EndpointTask(
        task_arn=f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/demo/{TASK_ID}",
        cluster_arn=f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/demo",
        family="api",
        revision=1,
        az="us-east-1b",
        private_ip=ip,
        subnet_cidr=subnet,
        subnet_gateway=gateway,
        cpu=0.25,
        memory=512,
        task_role_arn=role,
        credentials_id=str(uuid.uuid4()),
        containers=[
            EndpointContainer(
                name="web",
                metadata_id=f"{TASK_ID}-web",
                docker_id="ab" * 32,
                docker_name="web",
                image="nginx:1.27",
            )
        ],
    )


class EndpointServer:
    def __init__(self, vpc: MiniVpc, document: Path, env: dict[str, str], *extra: str) -> None:
        self.log = vpc.state_dir / f"endpoints-{uuid.uuid4().hex[:6]}.log"
        command = [
            "ip", "netns", "exec", vpc.router,
            sys.executable, "-m", "fargate_api.twin.servers.task_endpoints",
            "--document", str(document), "--listen", "169.254.170.2", "--port", "80",
            "--label", vpc.prefix, *extra,
        ]  # fmt: skip
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, env=env)

    def wait_listening(self) -> None:
        deadline = time.monotonic() + 20
        while "listening on" not in self.text():
            assert self.process.poll() is None, self.text()
            assert time.monotonic() < deadline, self.text()
            time.sleep(0.05)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def clean_env(**extra: str) -> dict[str, str]:
    """No credentials of this machine, no instance metadata lookups (nothing leaves)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key not in ("http_proxy", "https_proxy")
    }
    env.update(
        AWS_CONFIG_FILE="/dev/null/none",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null/none",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_DEFAULT_REGION="us-east-1",
        PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"),
    )
    env.update(extra)
    return env


def get(netns: str, path: str) -> dict[str, Any]:
    proc = run_in(netns, sys.executable, "-c", GET, f"http://169.254.170.2{path}")
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.fixture
def vpc(netns_prefix: str) -> Iterator[MiniVpc]:
    mini = MiniVpc(netns_prefix)
    try:
        mini.build()
        mini.add_task("t1", 1, 23)
        mini.add_task("t2", 1, 24)
        yield mini
    finally:
        mini.destroy()


def write_document(vpc: MiniVpc, tasks: list[EndpointTask]) -> Path:
    path = vpc.state_dir / "task-endpoints.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(TaskEndpoints(tasks=tasks).to_json())
    tmp.replace(path)
    return path


def own_task(vpc: MiniVpc, **changes: Any) -> EndpointTask:
    _, ip = vpc.tasks["t1"]
    subnet = vpc.subnets[1]
    return endpoint_task(str(ip), str(subnet), str(subnet.network_address + 1), **changes)


def test_metadata_and_local_credentials(vpc: MiniVpc) -> None:
    task = own_task(vpc)
    document = write_document(vpc, [task])
    env = clean_env(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    server = EndpointServer(vpc, document, env)
    try:
        server.wait_listening()
        t1, t2 = vpc.tasks["t1"][0], vpc.tasks["t2"][0]
        answer = get(t1, f"/v4/{TASK_ID}-web/task")
        assert answer["status"] == 200
        doc = answer["body"]
        assert doc["AvailabilityZone"] == "us-east-1b"
        assert doc["Containers"][0]["Networks"][0]["IPv4Addresses"] == [task.private_ip]
        assert doc["TaskARN"] == task.task_arn

        container = get(t1, f"/v4/{TASK_ID}-web")
        assert (container["status"], container["body"]["Name"]) == (200, "web")
        stats = get(t1, f"/v4/{TASK_ID}-web/task/stats")
        assert (stats["status"], stats["body"]["code"]) == (404, "StatsUnavailable")
        assert get(t1, "/v4/nope/task")["status"] == 404

        uri = f"/v2/credentials/{task.credentials_id}"
        creds = get(t1, uri)
        assert creds["status"] == 200
        assert creds["body"]["AccessKeyId"] == ACCESS_KEY
        assert creds["body"]["SecretAccessKey"] == SECRET_KEY
        assert creds["body"]["RoleArn"] == ROLE
        assert creds["body"]["Expiration"].endswith("Z")
        # What an SDK in the task does with AWS_CONTAINER_CREDENTIALS_RELATIVE_URI.
        sdk = run_in(
            t1, "env", f"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI={uri}",
            *(f"{k}={v}" for k, v in clean_env().items() if k.startswith("AWS_")),
            sys.executable, "-c",
            "import boto3; c = boto3.Session().get_credentials(); "
            "print(c.method, c.get_frozen_credentials().access_key)",
        )  # fmt: skip
        assert sdk.stdout.split() == ["container-role", ACCESS_KEY], sdk.stderr
        denied = get(t2, uri)  # another task that learned the id
        assert (denied["status"], denied["body"]["code"]) == (403, "AccessDenied")

        # The document is re-read when it changes: a new revision shows at once.
        time.sleep(0.01)
        write_document(vpc, [task.model_copy(update={"revision": 2})])
        assert get(t1, f"/v4/{TASK_ID}-web/task")["body"]["Revision"] == "2"
        # A bad rewrite is logged and the last good document kept.
        document.write_text("{not json")
        assert get(t1, f"/v4/{TASK_ID}-web/task")["body"]["Revision"] == "2"
    finally:
        server.stop()
    log = server.text()
    assert "keeping the previous document" in log
    assert "/v2/credentials/***" in log
    assert task.credentials_id not in log
    assert SECRET_KEY not in log and ACCESS_KEY not in log


def test_no_credentials_is_a_clear_404(vpc: MiniVpc) -> None:
    task = own_task(vpc)
    server = EndpointServer(vpc, write_document(vpc, [task]), clean_env())
    try:
        server.wait_listening()
        answer = get(vpc.tasks["t1"][0], f"/v2/credentials/{task.credentials_id}")
        assert answer["status"] == 404
        assert answer["body"]["code"] == "NoCredentials"
        assert "AWS_ACCESS_KEY_ID" in answer["body"]["message"]
    finally:
        server.stop()


def test_assume_task_role_against_moto(vpc: MiniVpc) -> None:
    task = own_task(vpc)
    moto_log = vpc.state_dir / "moto.log"
    with moto_log.open("wb") as log:
        moto = subprocess.Popen(
            ["ip", "netns", "exec", vpc.router, sys.executable, "-m", "moto.server",
             "-H", "127.0.0.1", "-p", str(MOTO_PORT)],
            stdout=log, stderr=log, env=clean_env(),
        )  # fmt: skip
    env = clean_env(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_ENDPOINT_URL_STS=f"http://127.0.0.1:{MOTO_PORT}",
    )
    server = EndpointServer(vpc, write_document(vpc, [task]), env, "--assume-task-role")
    try:
        server.wait_listening()
        deadline = time.monotonic() + 30
        while b"Running on" not in moto_log.read_bytes():
            assert moto.poll() is None, moto_log.read_text()
            assert time.monotonic() < deadline, moto_log.read_text()
            time.sleep(0.1)
        uri = f"/v2/credentials/{task.credentials_id}"
        first = get(vpc.tasks["t1"][0], uri)
        assert first["status"] == 200, first
        body = first["body"]
        assert body["AccessKeyId"].startswith("ASIA")  # moto's temporary keys
        assert body["AccessKeyId"] != "testing"
        assert body["Token"]
        assert body["RoleArn"] == ROLE
        again = get(vpc.tasks["t1"][0], uri)
        assert again["body"]["AccessKeyId"] == body["AccessKeyId"]  # cached
    finally:
        server.stop()
        moto.terminate()
        moto.wait(10)


def test_assume_without_a_task_role_is_404(vpc: MiniVpc) -> None:
    task = own_task(vpc, role=None)
    env = clean_env(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    server = EndpointServer(vpc, write_document(vpc, [task]), env, "--assume-task-role")
    try:
        server.wait_listening()
        answer = get(vpc.tasks["t1"][0], f"/v2/credentials/{task.credentials_id}")
        assert (answer["status"], answer["body"]["code"]) == (404, "NoCredentials")
    finally:
        server.stop()


@pytest.mark.parametrize("content", ["{not json", '{"tasks": [{"task_arn": 1}]}', None])
def test_a_bad_document_stops_the_server_at_start(vpc: MiniVpc, content: str | None) -> None:
    path = vpc.state_dir / "bad.json"
    if content is not None:
        path.write_text(content)
    server = EndpointServer(vpc, path, clean_env())
    try:
        assert server.process.wait(20) == EXIT_BAD_DOCUMENT
    finally:
        server.stop()
    assert "cannot read the document" in server.text()
