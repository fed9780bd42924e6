"""Pushes the built images to their ECR repository during a deploy, and answers the
digest the service stack deploys.

It runs once the repository stack is deployed (deploy.ParameterSupplier) and before the
stacks that run the image. A tag already in the registry is not pushed again: tags are
immutable and name the source commit, so a redeploy of the same build deploys the same
digest, and CloudFormation finds nothing to change. After a push the digest is read
back from the registry, so an interrupted or lost push is never deployed: the next
deploy finds the tag missing and pushes again (the layers already uploaded are skipped
by the registry).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rich.console import Console
from rich.markup import escape

from fargate_api.aws.ecr_login import ecr_login
from fargate_api.aws.results import ImageResult
from fargate_api.aws.session import Clients
from fargate_api.aws.stacks import StackPlan, StackSpec
from fargate_api.errors import OperationError, UserError
from fargate_api.images.builders import ContainerCli
from fargate_api.images.from_templates import SpecImage
from fargate_api.images.output_lines import tool_output
from fargate_api.images.registry import (
    RegistryClient,
    RegistryEndpoint,
    push_destination,
    repository_path,
)
from fargate_api.images.registry_auth import RegistryAuth, registry_host


@dataclass
class ImagePublisher:
    plan: StackPlan
    built: list[SpecImage]
    builder: ContainerCli
    clients: Clients
    console: Console
    registry: RegistryEndpoint | None = None
    published: list[ImageResult] = field(default_factory=list)
    _values: dict[str, str] = field(default_factory=dict)
    _auth: RegistryAuth | None = None

    def __call__(self, outputs_by_role: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
        """The digest parameters of every image whose repository is deployed by now."""
        for stack, item in self._targets():
            parent_param = stack.passed[item.spec.digest_parameter]
            if parent_param in self._values:
                continue
            uri = repository_uri(stack, item, outputs_by_role)
            if uri is None:
                continue  # its repository stack comes later
            self._values[parent_param] = self._publish(item, uri)
        return dict(self._values)

    def pushed_digest(
        self, outputs_by_role: Mapping[str, Mapping[str, str]]
    ) -> dict[str, str | None]:
        """For `diff`: each digest parameter's value if the build is already in the
        registry, else None (nothing is pushed)."""
        found: dict[str, str | None] = {}
        for stack, item in self._targets():
            parent_param = stack.passed[item.spec.digest_parameter]
            uri = repository_uri(stack, item, outputs_by_role)
            found[parent_param] = None
            if uri is not None:
                client = self._client(uri)
                found[parent_param] = client.manifest_digest(repository_path(uri), item.image.tag)
        return found

    def _targets(self) -> list[tuple[StackSpec, SpecImage]]:
        targets = []
        for item in self.built:
            stack = next((s for s in self.plan.stacks if s.file == item.spec.file), None)
            if stack is None:
                continue
            if item.spec.digest_parameter not in stack.passed:
                raise UserError(
                    f"{item.spec.file}'s parameter {item.spec.digest_parameter} is not passed "
                    "from a parent parameter, so deploy cannot give it the pushed digest",
                    where=item.spec.where,
                    fix="in parent.yml, pass it as `Ref: ImageDigest` (fargate-api synth does)",
                )
            targets.append((stack, item))
        return targets

    def _client(self, uri: str) -> RegistryClient:
        if self._auth is None:
            with self.console.status("asking ECR for a registry token…"):
                self._auth = ecr_login(self.clients.ecr)
        endpoint = self.registry or RegistryEndpoint(scheme="https", host=registry_host(uri))
        return RegistryClient(endpoint, self._auth)

    def _publish(self, item: SpecImage, uri: str) -> str:
        image = item.image
        path = repository_path(uri)
        client = self._client(uri)
        existing = client.manifest_digest(path, image.tag)
        if existing is not None:
            self._check_architecture(client, path, image.tag, item)
            self.console.print(
                f"image {escape(uri)}:{escape(image.tag)} is already in the registry "
                f"({existing}): not pushed again"
            )
            pushed_id = client.config_digest(path, image.tag)
            if pushed_id is not None and pushed_id != image.image_id:
                self.console.print(
                    f"[yellow]note:[/yellow] the registry's {escape(image.tag)} is another "
                    f"build of the same source (image {pushed_id[:19]}, this one "
                    f"{image.image_id[:19]}: built elsewhere, or with other build settings); "
                    "tags are immutable, so the registry's is deployed. Commit a change to "
                    "deploy this build under a tag of its own."
                )
            self._record(uri, item, existing, pushed=False)
            return existing
        endpoint = self.registry or RegistryEndpoint(scheme="https", host=registry_host(uri))
        destination = push_destination(uri, image.tag, self.registry)
        self.console.print(f"pushing {escape(image.reference)} to {escape(destination)}")
        digest = self.builder.push(
            image,
            destination,
            auth=self._auth,
            tls_verify=endpoint.scheme == "https",
            on_line=tool_output(self.console),
        )
        landed = client.manifest_digest(path, digest)
        if landed != digest:
            raise OperationError(
                f"the push of {image.reference} reported {digest}, but the registry does not "
                f"have it under {path}; nothing was deployed with it",
                fix="deploy again: it pushes the image again (the registry keeps the layers "
                "already uploaded)",
            )
        self.console.print(f"pushed {escape(destination)}: {digest}")
        self._record(uri, item, digest, pushed=True)
        return digest

    def _check_architecture(
        self, client: RegistryClient, path: str, tag: str, item: SpecImage
    ) -> None:
        pushed = client.image_architecture(path, tag)
        if pushed is not None and pushed != item.image.architecture:
            raise UserError(
                f"the registry's image {path}:{tag} is {pushed}, but this build is "
                f"{item.image.architecture}; tags are immutable, so it cannot be replaced",
                where=item.spec.where,
                fix="commit the change of platform (the tag is the commit), so the new "
                "build gets a tag of its own",
            )

    def _record(self, uri: str, item: SpecImage, digest: str, *, pushed: bool) -> None:
        self.published.append(
            ImageResult(
                repository_uri=uri,
                tag=item.image.tag,
                digest=digest,
                image=f"{uri}@{digest}",
                pushed=pushed,
                builder=item.image.builder,
                architecture=item.image.architecture,
            )
        )


def repository_uri(
    stack: StackSpec, item: SpecImage, outputs_by_role: Mapping[str, Mapping[str, str]]
) -> str | None:
    """The repository the service stack's wiring names, once its stack has outputs."""
    source = stack.inputs.get(item.spec.repository_parameter)
    if source is None:
        raise UserError(
            f"{item.spec.file}'s parameter {item.spec.repository_parameter} is not wired to "
            "a repository stack's output",
            where=item.spec.where,
            fix="in parent.yml, pass it as `Fn::GetAtt RepositoryStack.Outputs.RepositoryUri` "
            "(fargate-api synth does)",
        )
    role, key = source
    return outputs_by_role.get(role, {}).get(key)
