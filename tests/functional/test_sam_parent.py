"""parent.yml deploys with the reference's own command:

    sam deploy --template-file parent.yml --stack-name NAME --resolve-s3 \
        --capabilities CAPABILITY_IAM

`sam deploy` first packages the template (each local Application Location is uploaded to
the managed bucket and replaced by its URL), then CloudFormation runs the SAM transform.
Both steps are reproduced here: the packaging by emulation, the transform with the real
aws-sam-translator. The result must be nested stacks wired output-to-parameter (the
reference's three for one [service]; the shared load balancer and one stack per service
for [[services]]), must pass cfn-lint, and for one [service] must have the same wiring as
the reference's parent.yml.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from functional.support import (
    PARENT_PARAMETER,
    SAM_APPLICATION,
    Json,
    Packaged,
    SynthCache,
    format_matches,
    lint_text,
    load_cfn_yaml,
    load_template,
    package_parent,
    require_reference_dir,
    resources_of_type,
    sam_translate,
    stack_wiring,
    variant_config,
    variant_names,
    variant_services,
)

VARIANTS = variant_names()
STACK = "AWS::CloudFormation::Stack"
LB_STACK = "LoadBalancerStack"
CHILD_FILES = {"VpcStack": "vpc.yml", "ClusterStack": "cluster.yml", "ServiceStack": "service.yml"}
SERVICE_WIRING = {
    "VpcId": ("VpcStack", "VpcId"),
    "PublicSubnetIds": ("VpcStack", "PublicSubnetIds"),
    "PrivateSubnetIds": ("VpcStack", "PrivateSubnetIds"),
    "ClusterName": ("ClusterStack", "ClusterName"),
    "ECSTaskExecutionRole": ("ClusterStack", "ECSTaskExecutionRole"),
}
# A service stack of [[services]]: the network, the cluster and the shared listener.
SHARED_WIRING = {
    "VpcId": ("VpcStack", "VpcId"),
    "PrivateSubnetIds": ("VpcStack", "PrivateSubnetIds"),
    "ClusterName": ("ClusterStack", "ClusterName"),
    "ECSTaskExecutionRole": ("ClusterStack", "ECSTaskExecutionRole"),
    "ListenerArn": (LB_STACK, "ListenerArn"),
}
# Only for a service whose alarms or request scaling name the load balancer.
METRICS_WIRING = ("LoadBalancerFullName", (LB_STACK, "LoadBalancerFullName"))
LOAD_BALANCER_WIRING = {
    "VpcId": ("VpcStack", "VpcId"),
    "PublicSubnetIds": ("VpcStack", "PublicSubnetIds"),
}
# Resource name properties that would need CAPABILITY_NAMED_IAM, which the command omits.
NAMED_IAM = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
}


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("-") if part)


def _children(variant: str) -> dict[str, str]:
    """The child stacks a variant's parent.yml must have, and their files."""
    services = variant_services(variant)
    if not services:
        return CHILD_FILES
    return {
        "VpcStack": "vpc.yml",
        "ClusterStack": "cluster.yml",
        LB_STACK: "load-balancer.yml",
        **{f"Service{_camel(name)}Stack": f"service-{name}.yml" for name in services},
    }


def _expected_wiring(variant: str) -> dict[str, dict[str, tuple[str, str]]]:
    """Each child's parameters read from other stacks' outputs (LoadBalancerFullName aside)."""
    services = variant_services(variant)
    if not services:
        return {"VpcStack": {}, "ClusterStack": {}, "ServiceStack": SERVICE_WIRING}
    config = tomllib.loads(variant_config(variant).read_text(encoding="utf-8"))
    test_listener = "test_listener_port" in config.get("deployment", {})
    wiring = {"VpcStack": {}, "ClusterStack": {}, LB_STACK: LOAD_BALANCER_WIRING}
    for name in services:
        wired = dict(SHARED_WIRING)
        if test_listener:
            wired["TestListenerArn"] = (LB_STACK, "TestListenerArn")
        wired["ServiceSecurityGroupId"] = (LB_STACK, f"{_camel(name)}SecurityGroupId")
        wiring[f"Service{_camel(name)}Stack"] = wired
    return wiring


def _package(out_dir: Path) -> Packaged:
    return package_parent(load_template(out_dir / "parent.yml"), out_dir)


def _translate_variant(synthesized: SynthCache, variant: str) -> tuple[Packaged, Json]:
    packaged = _package(synthesized.get(variant))
    return packaged, sam_translate(packaged.template)


@pytest.mark.parametrize("variant", VARIANTS)
def test_parent_becomes_wired_nested_stacks(synthesized: SynthCache, variant: str) -> None:
    packaged, translated = _translate_variant(synthesized, variant)
    children = _children(variant)

    assert "Transform" not in translated, "the SAM transform was not applied"
    resources = translated["Resources"]
    types = {logical_id: body["Type"] for logical_id, body in resources.items()}
    assert types == dict.fromkeys(children, STACK), f"unexpected resources: {types}"
    assert {k: p.name for k, p in packaged.children.items()} == children
    for logical_id, body in resources.items():
        url = body["Properties"]["TemplateURL"]
        assert url == packaged.urls[logical_id], f"{logical_id}: TemplateURL {url!r}"
        assert url.startswith("https://s3.amazonaws.com/") and url.endswith(".template")

    wiring = stack_wiring(translated)
    assert set(wiring) == set(children)
    for stack, expected in _expected_wiring(variant).items():
        from_outputs = {
            param: source
            for param, source in wiring[stack].items()
            if source[0] != PARENT_PARAMETER and (param, source) != METRICS_WIRING
        }
        assert from_outputs == expected, stack


@pytest.mark.parametrize("variant", VARIANTS)
def test_wiring_matches_the_child_templates(synthesized: SynthCache, variant: str) -> None:
    """Every output read exists, every parameter passed is declared, none is left unset."""
    out_dir = synthesized.get(variant)
    packaged, translated = _translate_variant(synthesized, variant)
    children = {k: load_template(path) for k, path in packaged.children.items()}

    for stack, params in stack_wiring(translated).items():
        declared = children[stack].get("Parameters", {})
        unknown = sorted(set(params) - set(declared))
        assert not unknown, f"{stack} is passed parameters its template lacks: {unknown}"
        unset = sorted(
            p for p, body in declared.items() if "Default" not in body and p not in params
        )
        assert not unset, f"{stack}: required parameters without a value: {unset}"
        for param, (source, output) in params.items():
            if source == PARENT_PARAMETER:  # stack_wiring checked that the parent declares it
                continue
            outputs = children[source].get("Outputs", {})
            assert output in outputs, (
                f"{stack}.{param} reads {source}.Outputs.{output}: no such output"
            )
            if declared[param]["Type"].startswith("List<"):
                value = outputs[output]["Value"]
                assert "Fn::Join" in value and value["Fn::Join"][0] == ",", (
                    f"{source}.Outputs.{output} feeds the list parameter {stack}.{param} but "
                    f"is not a comma-joined list: {value}"
                )

    for name, body in translated.get("Outputs", {}).items():
        source, attribute = body["Value"]["Fn::GetAtt"]
        output = attribute.removeprefix("Outputs.")
        assert output in children[source].get("Outputs", {}), (
            f"parent output {name} reads {source}.Outputs.{output}, which "
            f"{packaged.children[source].name} does not define"
        )
    assert load_template(out_dir / "parent.yml")["Transform"] == "AWS::Serverless-2016-10-31"


@pytest.mark.parametrize("variant", VARIANTS)
def test_translated_parent_passes_cfn_lint(synthesized: SynthCache, variant: str) -> None:
    _, translated = _translate_variant(synthesized, variant)
    matches = lint_text(json.dumps(translated, indent=2))
    assert matches == [], format_matches(f"{variant}/parent.yml after the SAM transform", matches)


@pytest.mark.parametrize("variant", VARIANTS)
def test_children_need_only_capability_iam(synthesized: SynthCache, variant: str) -> None:
    """The deploy command grants CAPABILITY_IAM, not CAPABILITY_NAMED_IAM."""
    out_dir = synthesized.get(variant)
    named = [
        f"{name}:{logical_id}.{prop}"
        for name in _children(variant).values()
        for type_, prop in NAMED_IAM.items()
        for logical_id, body in resources_of_type(load_template(out_dir / name), type_).items()
        if prop in body.get("Properties", {})
    ]
    assert not named, f"these need CAPABILITY_NAMED_IAM, which 'sam deploy' is not given: {named}"


def test_reference_parent_has_the_same_wiring(synthesized: SynthCache) -> None:
    reference_dir = require_reference_dir()
    reference = package_parent(load_cfn_yaml(reference_dir / "parent.yml"), reference_dir)
    reference_translated = sam_translate(reference.template)
    _, ours = _translate_variant(synthesized, "default")

    assert {k: p.name for k, p in reference.children.items()} == CHILD_FILES
    assert set(resources_of_type(reference_translated, STACK)) == set(
        resources_of_type(ours, STACK)
    )
    assert stack_wiring(ours) == stack_wiring(reference_translated)


def test_reference_parent_can_deploy_our_children(synthesized: SynthCache) -> None:
    """Our child templates are drop-in replacements for the reference's."""
    reference_dir = require_reference_dir()
    out_dir = synthesized.get("default")
    reference = sam_translate(
        package_parent(load_cfn_yaml(reference_dir / "parent.yml"), reference_dir).template
    )
    ours = {stack: load_template(out_dir / name) for stack, name in CHILD_FILES.items()}
    for stack, params in stack_wiring(reference).items():
        declared = ours[stack].get("Parameters", {})
        assert set(params) <= set(declared), f"{stack}: {sorted(set(params) - set(declared))}"
        unset = sorted(
            p for p, body in declared.items() if "Default" not in body and p not in params
        )
        assert not unset, f"the reference parent leaves {stack} parameters unset: {unset}"
        for param, (source, output) in params.items():
            assert output in ours[source].get("Outputs", {}), (
                f"the reference parent reads {source}.Outputs.{output} for {stack}.{param}; "
                f"our {CHILD_FILES[source]} does not define it"
            )


def test_translator_rejects_an_application_without_location(synthesized: SynthCache) -> None:
    from samtranslator.model.exceptions import InvalidDocumentException  # noqa: PLC0415

    packaged = _package(synthesized.get("default"))
    broken = packaged.template
    del broken["Resources"]["VpcStack"]["Properties"]["Location"]
    assert broken["Resources"]["VpcStack"]["Type"] == SAM_APPLICATION

    with pytest.raises(InvalidDocumentException) as caught:
        sam_translate(broken)

    causes = " ".join(str(getattr(c, "message", c)) for c in caught.value.causes)
    assert "VpcStack" in causes and "Location" in causes, causes


def test_packaging_fails_when_a_child_file_is_missing(
    synthesized: SynthCache, tmp_path: Path
) -> None:
    (tmp_path / "parent.yml").write_bytes((synthesized.get("default") / "parent.yml").read_bytes())
    with pytest.raises(AssertionError, match=r"vpc\.yml"):
        _package(tmp_path)
