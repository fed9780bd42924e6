"""FA501: containers run a pinned image, not a moving tag.

With :latest (or no tag), two tasks of the same task definition can run different code:
ECS pulls again on every start, so a scale-out or a replaced task silently deploys
whatever was pushed last, and a rollback does not roll back the code.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.naming import from_parameter
from fargate_api.check.rule import Rule
from fargate_api.templates import Text
from fargate_api.templates.props import get
from fargate_api.templates.topology import TASK_DEFINITION, containers


def image_tag(image: str) -> str | None:
    """The tag of an image reference; None when it is pinned by digest."""
    if "@" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else "latest"


class MutableImageTag(Rule):
    meta = RuleMeta(
        id="FA501",
        name="mutable-image-tag",
        severity=Severity.WARNING,
        title="A container image uses the mutable :latest tag",
        why="ECS resolves the tag each time a task starts, so scale-out, task replacement and "
        "rollbacks run whatever image was pushed last, not what was tested and deployed.",
        fix="Reference the image by an immutable version tag or by digest (image@sha256:...), "
        "and make the repository's tags immutable.",
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for task in ctx.resources(TASK_DEFINITION):
            for index, container in containers(task):
                value = get(container, "Image")
                image = value.literal() if isinstance(value, Text) else value
                if not isinstance(image, str) or image_tag(image) != "latest":
                    continue
                raw = get(task.raw_properties, "ContainerDefinitions", index, "Image")
                implicit = "" if image.endswith(":latest") else ", which means :latest"
                yield self.finding(
                    task,
                    f"container {get(container, 'Name')} runs {image}{from_parameter(raw)}"
                    f"{implicit}: a mutable tag",
                    ("Properties", "ContainerDefinitions", index, "Image"),
                )


RULE = MutableImageTag()
