"""`deploy` from a Dockerfile: build with podman, the repository stack, an ECR token, the
push, the digest read back, and the service stack that names the image by digest.

The AWS APIs are a moto server on loopback (ECR's control plane: the repository through
CloudFormation, get_authorization_token) and ECR's data plane is Debian's docker-registry
on loopback, reached with --registry-url. moto's token is `AWS` and
`<account>-auth-token`; a registry with that htpasswd user proves the token is used, and
one with another password stands for an expired or wrong token.
"""

from __future__ import annotations

import secrets
import urllib.request
from pathlib import Path

import pytest

from functional.aws.cli import deploy_with_registry, run_cli
from functional.aws.conftest import MOTO_ECR_PASSWORD, moto_client
from support.base_images import ImageRun, busybox_arm64_base, busybox_base, image_run
from support.commands import require_commands
from support.git_repo import committed_repo, git
from support.registry import LoopbackRegistry, skopeo_inspect, start_registry

__all__ = ["busybox_arm64_base", "busybox_base", "image_run"]

ECR_HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"

DOCKERFILE = """\
FROM {base} AS base
RUN mkdir -p /www
FROM base AS runtime
ARG GREETING=hello
RUN echo "$GREETING" > /www/index.html
USER 10001:10001
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
"""


@pytest.fixture
def project(tmp_path: Path, image_run: ImageRun, busybox_base: str) -> Path:
    """A committed git work tree with a Dockerfile and a config that builds it."""
    require_commands("git", "skopeo")
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "Dockerfile").write_text(DOCKERFILE.format(base=busybox_base))
    name = f"{image_run.prefix}{secrets.token_hex(3)}"  # 25 characters, unique per test
    (folder / "fargate-api.toml").write_text(
        f'name = "{name}"\n[service]\nname = "api"\nport = 8080\nuser = "10001:10001"\n'
        '[service.build]\ncontext = "."\ntarget = "runtime"\n'
    )
    return committed_repo(folder)


def _stack_name(project: Path) -> str:
    text = (project / "fargate-api.toml").read_text()
    return text.split('"', 2)[1]


def _service_parameters(moto_url: str, base: str) -> dict[str, str]:
    stack = moto_client(moto_url, "cloudformation").describe_stacks(StackName=f"{base}-service")
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Stacks"][0]["Parameters"]}


def _stacks(moto_url: str, base: str) -> list[str]:
    pages = moto_client(moto_url, "cloudformation").list_stacks()["StackSummaries"]
    return sorted(
        s["StackName"]
        for s in pages
        if s["StackName"].startswith(base) and s["StackStatus"] != "DELETE_COMPLETE"
    )


def _skopeo_digest(registry: LoopbackRegistry, reference: str) -> str:
    return str(skopeo_inspect(registry, reference)["Digest"])


def test_deploy_builds_pushes_and_pins_the_digest_and_a_redeploy_changes_nothing(
    project: Path, moto_url: str, ecr_registry: LoopbackRegistry
) -> None:
    first = deploy_with_registry(project, moto_url, ecr_registry, "--json")
    assert first.code == 0, first.explain()
    result = first.json()
    [image] = result["images"]
    base = _stack_name(project)
    repository = f"{ECR_HOST}/{base}-api"
    assert image["pushed"] is True
    assert image["repository_uri"] == repository
    assert image["image"] == f"{repository}@{image['digest']}"
    assert len(image["tag"]) == 12 and image["architecture"] == "amd64"
    assert [s["role"] for s in result["stacks"]] == ["repository", "vpc", "cluster", "service"]
    assert "with podman" in first.stderr and "pushing " in first.stderr
    # The task definition names the image by digest, and that digest is in the registry.
    params = _service_parameters(moto_url, base)
    assert params["ImageDigest"] == image["digest"]
    assert params["ImageRepositoryUri"] == repository
    ecs = moto_client(moto_url, "ecs")
    [arn] = ecs.list_task_definitions()["taskDefinitionArns"][-1:]
    named = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    assert named["containerDefinitions"][0]["image"] == image["image"]
    path = f"{base}-api"
    assert _skopeo_digest(ecr_registry, f"{path}@{image['digest']}") == image["digest"]
    assert _skopeo_digest(ecr_registry, f"{path}:{image['tag']}") == image["digest"]

    second = deploy_with_registry(project, moto_url, ecr_registry)
    assert second.code == 0, second.explain()
    assert "no changes: every stack is up to date" in second.stderr
    assert "is already in the registry" in second.stderr and "pushing " not in second.stderr
    assert f"image: {image['image']}" in second.stdout


def test_a_new_commit_is_a_new_digest_that_diff_shows_before_deploy_pushes_it(
    project: Path, moto_url: str, ecr_registry: LoopbackRegistry
) -> None:
    first = deploy_with_registry(project, moto_url, ecr_registry, "--json")
    assert first.code == 0, first.explain()
    old = first.json()["images"][0]["digest"]
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("GREETING=hello", "GREETING=bonjour"))
    git(project, "commit", "-qam", "second")
    args = ("diff", "-c", "fargate-api.toml", "--registry-url", ecr_registry.url)

    before = run_cli(project, *args, endpoint=moto_url)
    assert before.code == 0, before.explain()
    assert f"image ImageDigest: {old} -> build " in before.stdout
    assert "not pushed yet" in before.stdout

    deployed = deploy_with_registry(project, moto_url, ecr_registry, "--json")
    assert deployed.code == 0, deployed.explain()
    new = deployed.json()["images"][0]["digest"]
    assert new != old
    service = next(s for s in deployed.json()["stacks"] if s["role"] == "service")
    assert service["result"] == "updated"
    assert _service_parameters(moto_url, _stack_name(project))["ImageDigest"] == new

    after = run_cli(project, *args, "--json", endpoint=moto_url)
    assert after.code == 0, after.explain()
    [record] = next(s for s in after.json()["stacks"] if s["role"] == "service")["images"]
    assert record["deployed"] == record["new"] == new


def test_a_refused_token_stops_before_the_service_and_the_next_deploy_pushes(
    project: Path, moto_url: str, tmp_path: Path
) -> None:
    """An expired (here: wrong) token: one message with the fix, no service stack."""
    with start_registry(tmp_path / "strict", username="AWS", password="not-the-token") as strict:
        refused = deploy_with_registry(project, moto_url, strict)
    assert refused.code == 1, refused.explain()
    assert "refused the credentials" in refused.stderr
    assert "fix:" in refused.stderr and "Traceback" not in refused.stderr
    base = _stack_name(project)
    assert f"{base}-service" not in _stacks(moto_url, base)

    with start_registry(tmp_path / "ok", username="AWS", password=MOTO_ECR_PASSWORD) as registry:
        again = deploy_with_registry(project, moto_url, registry)
        assert again.code == 0, again.explain()
        assert "pushed " in again.stderr
        assert f"{base}-service" in _stacks(moto_url, base)


def test_a_push_that_left_no_manifest_is_pushed_again(
    project: Path, moto_url: str, ecr_registry: LoopbackRegistry
) -> None:
    """The layers are in the registry but the manifest is not, as after a push cut off
    halfway: the next deploy pushes again and deploys only the digest it read back."""
    first = deploy_with_registry(project, moto_url, ecr_registry, "--json")
    assert first.code == 0, first.explain()
    image = first.json()["images"][0]
    path = f"{_stack_name(project)}-api"
    request = urllib.request.Request(
        f"{ecr_registry.url}/v2/{path}/manifests/{image['digest']}", method="DELETE"
    )
    request.add_header("Authorization", "Basic " + _basic(ecr_registry))
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request) as answer:
        assert answer.status == 202

    again = deploy_with_registry(project, moto_url, ecr_registry, "--json")
    assert again.code == 0, again.explain()
    [pushed] = again.json()["images"]
    assert pushed["pushed"] is True
    assert _skopeo_digest(ecr_registry, f"{path}@{pushed['digest']}") == pushed["digest"]
    params = _service_parameters(moto_url, _stack_name(project))
    assert params["ImageDigest"] == pushed["digest"]


def _basic(registry: LoopbackRegistry) -> str:
    import base64  # noqa: PLC0415

    return base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()


def test_a_failed_build_changes_nothing_in_aws(
    project: Path, moto_url: str, ecr_registry: LoopbackRegistry
) -> None:
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("RUN mkdir", "RUN false && mkdir"))
    failed = deploy_with_registry(project, moto_url, ecr_registry)
    assert failed.code == 1, failed.explain()
    assert "RUN false && mkdir -p /www" in failed.stderr
    assert _stacks(moto_url, _stack_name(project)) == []


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        ('target = "runtime"', 'target = "nope"'),
        ('context = "."', 'context = "missing"'),
    ],
)
def test_bad_build_input_is_exit_2_before_anything_runs(
    project: Path, moto_url: str, ecr_registry: LoopbackRegistry, edit: str, says: str
) -> None:
    config = project / "fargate-api.toml"
    config.write_text(config.read_text().replace(edit, says))
    refused = deploy_with_registry(project, moto_url, ecr_registry)
    assert refused.code == 2, refused.explain()
    assert "fix:" in refused.stderr and "Traceback" not in refused.stderr
    assert _stacks(moto_url, _stack_name(project)) == []


def test_destroy_keeps_the_repository_and_says_how_to_remove_it(
    project: Path, moto_url: str, ecr_registry: LoopbackRegistry
) -> None:
    done = deploy_with_registry(project, moto_url, ecr_registry)
    assert done.code == 0, done.explain()
    destroyed = run_cli(project, "destroy", "-c", "fargate-api.toml", "--yes", endpoint=moto_url)
    assert destroyed.code == 0, destroyed.explain()
    base = _stack_name(project)
    assert f"image repository {base}-api" in destroyed.stderr
    assert (
        f"aws ecr delete-repository --region us-east-1 --repository-name {base}-api --force"
        in destroyed.stderr
    )
    repositories = moto_client(moto_url, "ecr").describe_repositories()["repositories"]
    assert f"{base}-api" in [r["repositoryName"] for r in repositories]


def test_an_arm64_build_runs_on_arm64_tasks(
    tmp_path: Path,
    moto_url: str,
    ecr_registry: LoopbackRegistry,
    image_run: ImageRun,
    busybox_arm64_base: str,
) -> None:
    folder = tmp_path / "arm"
    folder.mkdir()
    (folder / "Dockerfile").write_text(
        f'FROM {busybox_arm64_base}\nRUN test "$(uname -m)" = aarch64\nCMD ["true"]\n'
    )
    name = f"{image_run.prefix}{secrets.token_hex(3)}"
    (folder / "fargate-api.toml").write_text(
        f'name = "{name}"\n[service]\nname = "api"\nuser = "1:1"\n'
        '[service.build]\ncontext = "."\nplatform = "linux/arm64"\n'
    )
    deployed = deploy_with_registry(folder, moto_url, ecr_registry, "--json")
    assert deployed.code == 0, deployed.explain()
    [image] = deployed.json()["images"]
    assert image["architecture"] == "arm64"
    assert image["tag"].startswith("build-"), "outside git, the tag is the image id"
    # moto keeps no runtimePlatform on the task definition: read the deployed template.
    body = moto_client(moto_url, "cloudformation").get_template(StackName=f"{name}-service")
    assert "CpuArchitecture: ARM64" in str(body["TemplateBody"])
    inspected = skopeo_inspect(ecr_registry, f"{name}-api@{image['digest']}")
    assert inspected["Architecture"] == "arm64"


def test_a_runtime_platform_that_is_not_the_builds_is_caught_before_deploy_and_by_check(
    project: Path, moto_url: str, ecr_registry: LoopbackRegistry
) -> None:
    out = project / "out"
    synth = run_cli(project, "synth", "-c", "fargate-api.toml", "-o", str(out), endpoint=None)
    assert synth.code == 0, synth.explain()
    service = out / "service.yml"
    text = service.read_text()
    assert "DockerPlatform: linux/amd64" in text and "CpuArchitecture: X86_64" in text
    service.write_text(text.replace("CpuArchitecture: X86_64", "CpuArchitecture: ARM64"))

    refused = run_cli(
        project,
        "deploy",
        "--templates",
        str(out),
        "--stack-name",
        _stack_name(project),
        "--registry-url",
        ecr_registry.url,
        "--yes",
        endpoint=moto_url,
    )
    assert refused.code == 2, refused.explain()
    assert "RuntimePlatform is ARM64" in refused.stderr
    assert _stacks(moto_url, _stack_name(project)) == []

    checked = run_cli(project, "check", str(out), endpoint=None)
    assert checked.code == 1, checked.explain()
    assert "FA506" in checked.stdout
