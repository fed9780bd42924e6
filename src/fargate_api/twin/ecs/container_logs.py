"""Container output as podman's k8s-file log driver writes it, read back as plain lines.

podman writes each line as `TIMESTAMP STREAM TAG TEXT` (TAG F: a full line, P: part of a
longer one), so that the file keeps which stream and when. `local logs` shows the text
only, as CloudWatch Logs shows an awslogs stream's messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def k8s_file_text(lines: Iterable[str]) -> Iterator[str]:
    """The messages of a k8s-file log, partial lines joined; a line that is not in the
    format is passed through unchanged (a log of process mode, say)."""
    pending = ""
    for line in lines:
        parts = line.split(" ", 3)
        if len(parts) < 3 or parts[1] not in ("stdout", "stderr") or parts[2] not in ("F", "P"):
            yield line
            continue
        text = parts[3] if len(parts) == 4 else ""
        if parts[2] == "P":
            pending += text
            continue
        yield pending + text
        pending = ""
    if pending:
        yield pending
