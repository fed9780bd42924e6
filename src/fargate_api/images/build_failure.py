"""Which step of a failed build failed, and what it printed.

A builder's last line ("Error: building at STEP ...: exit status 3", "ERROR: failed to
solve: ...") rarely says why; the step's own output (a compiler error, a missing
package) does, but it sits above, between the step line and the error. `BuildTranscript`
follows the output as it streams and keeps, in bounded memory, the last step seen and
the tail of its output, so a BuildFailedError can show exactly that part.

Formats read:
* podman/buildah: `STEP 2/5: RUN make` (or `[1/2] STEP 2/3: ...` in multi-stage builds),
  the step's output on the following lines.
* docker with BuildKit and `--progress plain`: `#5 [2/3] RUN make` names vertex 5, its
  output lines are `#5 0.241 text`, and `#5 ERROR: ...` marks it failed; the TTY
  progress's `ERROR [2/3] RUN make` is recognised too, as is the classic builder's
  `Step 2/5 : RUN make`. (No docker engine runs in this project's CI: these are checked
  against recorded outputs only.)
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from pathlib import Path

from fargate_api.errors import OperationError

OUTPUT_LINES = 20

_PODMAN_STEP = re.compile(r"^(?:\[\d+/\d+\] )?STEP \d+/\d+: .*")
_CLASSIC_STEP = re.compile(r"^Step \d+/\d+ : .*")
_VERTEX = re.compile(r"^#(\d+) (.*)$")
_VERTEX_OUTPUT = re.compile(r"^\d+(?:\.\d+)? (.*)$")
_VERTEX_ERROR = re.compile(r"^ERROR(?::|\s|$)")
_TTY_ERROR = re.compile(r"(?:^|\s)ERROR (\[[^\]]*\] .*?)(?:\s+\d+(?:\.\d+)?s)?$")


class BuildFailedError(OperationError):
    """A build ran and failed (exit 1): names the step and carries its output."""

    def __init__(
        self,
        *,
        builder: str,
        step: str | None,
        output: Iterable[str],
        dockerfile: Path | None = None,
    ) -> None:
        self.builder = builder
        self.step = step
        self.output = tuple(output)
        at = f"at {step}" if step else "before its first step"
        lines = "".join(f"\n    | {line}" for line in self.output)
        super().__init__(
            f"{builder} build failed {at}{lines}",
            where=str(dockerfile) if dockerfile else None,
            fix="the step's output is above; fix the Dockerfile or the files that step "
            "uses, then build again (`fargate-api build` builds without deploying)",
        )


class BuildTranscript:
    """Follows one build's output, line by line, keeping what a failure report needs."""

    def __init__(self, builder: str) -> None:
        self.builder = builder
        self.tail: deque[str] = deque(maxlen=OUTPUT_LINES)
        # podman / classic docker: the last step line and what followed it.
        self.step: str | None = None
        self.step_output: deque[str] = deque(maxlen=OUTPUT_LINES)
        # BuildKit: each vertex's name and output tail; the one that reported ERROR.
        self.vertex_names: dict[str, str] = {}
        self.vertex_output: dict[str, deque[str]] = {}
        self.failed_vertex: str | None = None
        self.tty_error: str | None = None

    def add(self, line: str) -> None:
        line = line.rstrip("\r\n")
        self.tail.append(line)
        if _PODMAN_STEP.match(line) or _CLASSIC_STEP.match(line):
            self.step = line
            self.step_output = deque(maxlen=OUTPUT_LINES)
            return
        self.step_output.append(line)
        if self.builder != "docker":
            return
        vertex = _VERTEX.match(line)
        if vertex:
            self._add_vertex(vertex.group(1), vertex.group(2))
            return
        tty = _TTY_ERROR.search(line)
        if tty:
            self.tty_error = tty.group(1).strip()

    def _add_vertex(self, number: str, rest: str) -> None:
        if number not in self.vertex_names:
            self.vertex_names[number] = rest
            self.vertex_output[number] = deque(maxlen=OUTPUT_LINES)
            return
        if _VERTEX_ERROR.match(rest):
            self.failed_vertex = number
            self.vertex_output[number].append(rest)
            return
        output = _VERTEX_OUTPUT.match(rest)
        if output:
            self.vertex_output[number].append(output.group(1))

    def failure(self, dockerfile: Path | None = None) -> BuildFailedError:
        """The error for a build that exited non-zero after this output."""
        step: str | None = None
        output: list[str] = list(self.tail)
        docker = self.builder == "docker"
        if docker and self.failed_vertex is not None:
            step = self.vertex_names[self.failed_vertex]
            # The final "ERROR: failed to solve: ..." summary says what the builder saw.
            summary = [line for line in self.tail if line.startswith("ERROR:")]
            output = [*self.vertex_output[self.failed_vertex], *summary[-1:]]
        elif docker and self.tty_error is not None:
            step = self.tty_error
        elif self.step is not None:
            step, output = self.step, list(self.step_output)
        return BuildFailedError(
            builder=self.builder, step=step, output=output, dockerfile=dockerfile
        )


def build_failure(
    builder: str, lines: Iterable[str], dockerfile: Path | None = None
) -> BuildFailedError:
    """The BuildFailedError for a failed build that printed `lines`."""
    transcript = BuildTranscript(builder)
    for line in lines:
        transcript.add(line)
    return transcript.failure(dockerfile)
