"""`[service] build`: the short and the long form, and every way to get it wrong (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fargate_api.config import Platform, load_config, parse_config
from fargate_api.errors import UserError


def test_the_short_form_is_a_context_folder() -> None:
    build = parse_config('[service]\nbuild = "app"\n').service.build
    assert build is not None
    assert (build.context, build.dockerfile, build.target, build.platform) == (
        "app",
        "Dockerfile",
        None,
        None,
    )
    assert build.keep_images == 30


def test_the_long_form_takes_every_option() -> None:
    text = (
        "[service.build]\n"
        'context = "app"\n'
        'dockerfile = "docker/Prod.Dockerfile"\n'
        'target = "runtime"\n'
        'build_args = { B = "2", A = "1" }\n'
        'platform = "linux/arm64"\n'
        "keep_images = 5\n"
    )
    service = parse_config(text).service
    assert service.build is not None
    assert service.build.dockerfile == "docker/Prod.Dockerfile"
    assert list(service.build.build_args) == ["A", "B"], "sorted, for stable templates"
    assert service.effective_platform() is Platform.ARM64
    assert service.build_platform() == "linux/arm64"


def test_a_built_image_is_hardened_like_any_other() -> None:
    """The default image (nginx) needs root; with build, the default is not used."""
    service = parse_config('[service]\nbuild = "app"\n').service
    assert not service.image_needs_root()
    assert service.effective_read_only_root()


def test_the_platform_follows_service_platform_when_the_build_names_none() -> None:
    service = parse_config('[service]\nbuild = "app"\nplatform = "ARM64"\n').service
    assert service.build_platform() == "linux/arm64"


def test_nat_none_accepts_a_built_image_it_pushes_to_ecr() -> None:
    text = '[network]\nnat = "none"\nvpc_endpoints = true\n[service]\nbuild = "app"\n'
    assert parse_config(text).service.build is not None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[service]\nbuild = "app"\nimage = "x:1"\n', "image and build are both set"),
        (
            '[service]\nplatform = "X86_64"\n[service.build]\ncontext = "a"\n'
            'platform = "linux/arm64"\n',
            "disagree",
        ),
        ('[service.build]\ncontext = "a"\nplatform = "linux/s390x"\n', "platform"),
        ('[service.build]\ncontext = "a"\nbuild_args = { "1X" = "v" }\n', "build argument"),
        ('[service.build]\ncontext = "a"\nkeep_images = 0\n', "keep_images"),
        ('[service.build]\ncontext = "a"\ntarget = "two words"\n', "target"),
        ('[service.build]\ndockerfile = "D"\n', "context"),
        ('[service]\nbuild = ""\n', "context"),
        ("[service]\nbuild = 3\n", "build"),
    ],
)
def test_bad_build_settings_are_one_user_error(text: str, says: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_config(text, source="cfg.toml")
    assert caught.value.exit_code == 2
    assert says in caught.value.render()
    assert caught.value.render().startswith("cfg.toml")


def test_the_context_is_anchored_at_the_config_files_folder(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    config = folder / "fargate-api.toml"
    config.write_text('[service]\nbuild = "../app"\n', encoding="utf-8")
    build = load_config(config).service.build
    assert build is not None
    assert Path(build.context) == (tmp_path / "app").resolve()
