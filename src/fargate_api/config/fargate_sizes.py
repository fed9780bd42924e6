"""The task sizes Fargate accepts.

Kept as data so that a bad size is rejected while reading the config, with the valid
choices listed, instead of failing minutes into a deploy with a ClientException.
"""

from __future__ import annotations


def _steps(start: int, stop: int, step: int) -> tuple[int, ...]:
    return tuple(range(start, stop + 1, step))


# CPU units -> allowed memory in MiB (AWS ECS developer guide, "Task CPU and memory").
FARGATE_MEMORY_BY_CPU: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: _steps(1024, 4096, 1024),
    1024: _steps(2048, 8192, 1024),
    2048: _steps(4096, 16384, 1024),
    4096: _steps(8192, 30720, 1024),
    8192: _steps(16384, 61440, 4096),
    16384: _steps(32768, 122880, 8192),
}


def describe_memory_choices(cpu: int) -> str:
    """Says the allowed memory for a CPU size as a short range, for error messages."""
    choices = FARGATE_MEMORY_BY_CPU[cpu]
    if len(choices) <= 3:
        return ", ".join(str(c) for c in choices)
    step = choices[1] - choices[0]
    return f"{choices[0]} to {choices[-1]} in steps of {step}"
