"""A stand-in for the podman and docker command lines, for ContainerCli's unit tests.

Run as `python fake_cli.py NAME ARGS...` (NAME: podman or docker) with FAKE_CLI_DIR set.
It keeps a tiny image store (images.json), replays the output scenario.json asks for, and
appends each call's argv to calls.jsonl together with what a push was given: the auth
file's (or docker config's) content and permission bits, read while the call runs,
because ContainerCli removes them right after.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any


def main() -> int:
    state = Path(os.environ["FAKE_CLI_DIR"])
    name, args = sys.argv[1], sys.argv[2:]
    scenario: dict[str, Any] = json.loads((state / "scenario.json").read_text())
    images_file = state / "images.json"
    images: dict[str, dict[str, str]] = (
        json.loads(images_file.read_text()) if images_file.exists() else {}
    )
    record: dict[str, Any] = {"argv": [name, *args]}
    rc = 0

    def missing(ref: str) -> int:
        if name == "podman":
            print(f"Error: {ref}: image not known", file=sys.stderr)
            return 125
        print(f"Error response from daemon: No such image: {ref}", file=sys.stderr)
        return 1

    config_dir = None
    if args[:1] == ["--config"]:
        config_dir, args = Path(args[1]), args[2:]
    command = args[0]
    if command == "build":
        tag = args[args.index("-t") + 1]
        for line in scenario.get("build_output", []):
            print(line, flush=True)
        rc = int(scenario.get("build_rc", 0))
        if rc == 0:
            images[tag] = {
                "Id": scenario["image_id"],
                "Architecture": scenario.get("architecture", "amd64"),
                "Digest": scenario.get("local_digest", ""),
            }
    elif command == "image" and args[1] == "inspect":
        ref = args[2]
        if ref not in images:
            print("[]")
            rc = missing(ref)
        else:
            image = dict(images[ref])
            if name == "podman":
                image["Id"] = image["Id"].removeprefix("sha256:")
            else:
                image.pop("Digest", None)
            print(json.dumps([{**image, "Os": "linux"}]))
    elif command == "tag":
        if args[1] not in images:
            rc = missing(args[1])
        else:
            images[args[2]] = images[args[1]]
    elif command == "rmi":
        ref = args[-1]
        if ref in images:
            del images[ref]
        elif "--ignore" not in args:
            rc = missing(ref)
    elif command == "push":
        for flag in ("--authfile",):
            if flag in args:
                path = Path(args[args.index(flag) + 1])
                record["auth_mode"] = stat.S_IMODE(path.stat().st_mode)
                record["auth_content"] = json.loads(path.read_text())
        if config_dir is not None:
            config = config_dir / "config.json"
            record["auth_mode"] = stat.S_IMODE(config.stat().st_mode)
            record["dir_mode"] = stat.S_IMODE(config_dir.stat().st_mode)
            record["auth_content"] = json.loads(config.read_text())
        for line in scenario.get("push_output", []):
            print(line, flush=True)
        rc = int(scenario.get("push_rc", 0))
        if rc == 0 and "--digestfile" in args:
            Path(args[args.index("--digestfile") + 1]).write_text(scenario["pushed_digest"])
        if rc == 0 and name == "docker":
            if args[1] not in images:
                rc = missing(args[1])
            else:
                print(f"v1: digest: {scenario['pushed_digest']} size: 528")
    else:
        print(f"fake_cli: unknown command {args}", file=sys.stderr)
        rc = 2
    images_file.write_text(json.dumps(images))
    with (state / "calls.jsonl").open("a") as calls:
        calls.write(json.dumps(record) + "\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
