"""One JSON object per line on stdout: what CloudWatch Logs (awslogs) and the twin store.

Every line has ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message`` and, once
known, ``task_id``; fields passed with ``extra=`` (``method``, ``path``, ``status``,
``duration_ms``...) are added as they are. Uvicorn's own messages go through the same
formatter, so a task's log stream is JSON from its first line to its last.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

LOGGER = "fargate_example_api"
ACCESS_LOGGER = "fargate_example_api.access"

# LogRecord's own attributes: anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys()
) | {"message", "asctime", "color_message", "taskName"}

_context: dict[str, str] = {}


def set_task_id(task_id: str | None) -> None:
    """Tags every following line with the task's id (known at start-up, or later on AWS)."""
    if task_id:
        _context["task_id"] = task_id
    else:
        _context.pop("task_id", None)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_context,
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False, separators=(",", ":"))


def logging_config(level: str = "info") -> dict[str, Any]:
    """A `logging.config.dictConfig` dict; also handed to uvicorn as its `log_config`."""
    name = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            }
        },
        "loggers": {
            LOGGER: {"handlers": ["stdout"], "level": name, "propagate": False},
            "uvicorn": {"handlers": ["stdout"], "level": name, "propagate": False},
            "uvicorn.error": {"level": name},
            # Requests are logged by AccessLogMiddleware, with the task id and duration.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
        "root": {"handlers": ["stdout"], "level": "WARNING"},
    }
