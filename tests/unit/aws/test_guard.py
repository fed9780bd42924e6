"""The egress IP guard: replacing an EIP or the load balancer needs --allow-replace."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fargate_api.aws import guard
from fargate_api.aws.changeset import Change
from fargate_api.aws.deploy import Deployer, DeployOptions
from fargate_api.aws.guard import Protected
from fargate_api.errors import UserError
from unit.aws.support import (
    ANY,
    VPC_SPEC_RESOURCES,
    FakeClock,
    ScriptedPrompter,
    Stubs,
    change_set_arn,
    console,
    describe_stacks,
    described_change_set,
    event,
    events_page,
    resource_change,
    spec,
    stubbed,
)

VPC = spec("vpc", VPC_SPEC_RESOURCES)
EIP_REPLACED = [
    resource_change(
        "Modify",
        "NatGatewayOneEIP",
        "AWS::EC2::EIP",
        replacement="True",
        properties=(("Domain", "Always"),),
        physical_id="203.0.113.10",
    ),
    resource_change(
        "Modify",
        "NatGatewayOne",
        "AWS::EC2::NatGateway",
        replacement="True",
        properties=(("AllocationId", "Always"),),
    ),
]


def _change(action: str, kind: str, replacement: str = "") -> Change:
    return Change(action=action, logical_id="X", resource_type=kind, replacement=replacement)


@pytest.mark.parametrize(
    ("change", "protected"),
    [
        (_change("Modify", guard.EIP_TYPE, "True"), Protected.EGRESS_IPS),
        (_change("Modify", guard.EIP_TYPE, "Conditional"), Protected.EGRESS_IPS),
        (_change("Remove", guard.EIP_TYPE), Protected.EGRESS_IPS),
        (_change("Modify", guard.LOAD_BALANCER_TYPE, "True"), Protected.LOAD_BALANCER),
        (_change("Remove", guard.LOAD_BALANCER_TYPE), Protected.LOAD_BALANCER),
    ],
)
def test_destructive_changes_are_refused_unless_allowed(
    change: Change, protected: Protected
) -> None:
    found = guard.violations("shop-vpc", [change], ())
    assert [v.protected for v in found] == [protected]
    assert f"--allow-replace {protected.value}" in guard.refusal_fix(found)
    assert guard.violations("shop-vpc", [change], {protected}) == []


@pytest.mark.parametrize(
    "change",
    [
        _change("Add", guard.EIP_TYPE),
        _change("Modify", guard.EIP_TYPE, "False"),
        _change("Modify", guard.LOAD_BALANCER_TYPE, "False"),
        _change("Modify", "AWS::EC2::NatGateway", "True"),
    ],
)
def test_harmless_changes_pass(change: Change) -> None:
    assert guard.violations("shop-vpc", [change], ()) == []


def test_stack_policy_denies_replacing_and_deleting_eips_only() -> None:
    policy = json.loads(guard.protecting_policy())
    deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny == [
        {
            "Effect": "Deny",
            "Action": ["Update:Replace", "Update:Delete"],
            "Principal": "*",
            "Resource": "*",
            "Condition": {"StringEquals": {"ResourceType": ["AWS::EC2::EIP"]}},
        }
    ]


def _until_change_set(s: Stubs, changes: list[dict[str, Any]]) -> None:
    s.cfn.add_response(
        "describe_stacks", describe_stacks("shop-vpc", "UPDATE_COMPLETE", role="vpc")
    )
    s.cfn.add_response("create_change_set", {"Id": change_set_arn("shop-vpc")})
    done = described_change_set("shop-vpc", "CREATE_COMPLETE", changes)
    s.cfn.add_response("describe_change_set", done)
    s.cfn.add_response("describe_change_set", done)


def test_deploy_refuses_an_eip_replacement_and_deletes_the_change_set() -> None:
    out, buffer = console()
    with stubbed() as s:
        _until_change_set(s, EIP_REPLACED)
        s.cfn.add_response("delete_change_set", {}, {"ChangeSetName": change_set_arn("shop-vpc")})
        deployer = Deployer(s.clients, out, FakeClock(), ScriptedPrompter())
        with pytest.raises(UserError) as raised:
            deployer.deploy_stack("shop", VPC, {})
        s.assert_no_pending_responses()  # in particular: no execute_change_set
    message = raised.value.render()
    assert "NatGatewayOneEIP replaces an egress IP" in message
    assert "--allow-replace egress-ips" in message
    assert "NatGatewayOneEIP" in buffer.getvalue()  # the diff was shown first


def test_allow_replace_egress_ips_lifts_the_stack_policy_for_one_update_only() -> None:
    out, _ = console()
    name = "shop-vpc"
    with stubbed() as s:
        _until_change_set(s, EIP_REPLACED)
        s.cfn.add_response(
            "describe_stack_events", events_page(event(name, 0, name, "UPDATE_COMPLETE"))
        )
        s.cfn.add_response(
            "set_stack_policy",
            {},
            {"StackName": name, "StackPolicyBody": guard.allow_all_policy()},
        )
        s.cfn.add_response("execute_change_set", {}, {"ChangeSetName": change_set_arn(name)})
        s.cfn.add_response(
            "describe_stacks", describe_stacks(name, "UPDATE_IN_PROGRESS", role="vpc")
        )
        s.cfn.add_response(
            "describe_stack_events",
            events_page(
                event(name, 0, name, "UPDATE_COMPLETE"),
                event(name, 1, name, "UPDATE_IN_PROGRESS", "User Initiated"),
                event(
                    name,
                    2,
                    "NatGatewayOneEIP",
                    "UPDATE_IN_PROGRESS",
                    "Requested update requires the creation of a new physical resource; "
                    "hence creating one.",
                    resource_type="AWS::EC2::EIP",
                ),
            ),
        )
        s.cfn.add_response(
            "describe_stacks",
            describe_stacks(
                name, "UPDATE_COMPLETE", role="vpc", outputs={"NatEgressIps": "198.51.100.7"}
            ),
        )
        s.cfn.add_response(
            "describe_stack_events",
            events_page(
                event(
                    name, 2, "NatGatewayOneEIP", "UPDATE_IN_PROGRESS", resource_type="AWS::EC2::EIP"
                ),
                event(
                    name, 3, "NatGatewayOneEIP", "UPDATE_COMPLETE", resource_type="AWS::EC2::EIP"
                ),
                event(name, 4, name, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
                event(name, 5, name, "UPDATE_COMPLETE"),
            ),
        )
        s.cfn.add_response(
            "set_stack_policy",
            {},
            {"StackName": name, "StackPolicyBody": guard.protecting_policy()},
        )
        s.cfn.add_response(
            "describe_stacks",
            describe_stacks(
                name, "UPDATE_COMPLETE", role="vpc", outputs={"NatEgressIps": "198.51.100.7"}
            ),
        )
        options = DeployOptions(allow_replace={Protected.EGRESS_IPS})
        deployer = Deployer(s.clients, out, FakeClock(), ScriptedPrompter(), options)
        outcome = deployer.deploy_stack("shop", VPC, {})
        s.assert_no_pending_responses()
    assert outcome.result == "updated"
    assert outcome.outputs == {"NatEgressIps": "198.51.100.7"}


def test_load_balancer_replacement_is_refused_in_the_service_stack() -> None:
    out, _ = console()
    service = spec("service", {"PublicLoadBalancer": guard.LOAD_BALANCER_TYPE})
    name = "shop-service"
    with stubbed() as s:
        s.cfn.add_response("describe_stacks", describe_stacks(name, "UPDATE_COMPLETE"))
        s.cfn.add_response("create_change_set", {"Id": change_set_arn(name)})
        done = described_change_set(
            name,
            "CREATE_COMPLETE",
            [
                resource_change(
                    "Modify",
                    "PublicLoadBalancer",
                    guard.LOAD_BALANCER_TYPE,
                    replacement="True",
                    properties=(("Scheme", "Always"),),
                )
            ],
        )
        s.cfn.add_response("describe_change_set", done)
        s.cfn.add_response("describe_change_set", done)
        s.cfn.add_response("delete_change_set", {}, {"ChangeSetName": ANY})
        deployer = Deployer(s.clients, out, FakeClock(), ScriptedPrompter())
        with pytest.raises(UserError, match="load balancer, whose DNS name would change"):
            deployer.deploy_stack("shop", service, {})
        s.assert_no_pending_responses()
