"""Locks down the VPC's default security group (FSBP EC2.2).

CloudFormation has no property for the default group's rules, so, like CDK's
restrictDefaultSecurityGroup, a small custom resource revokes them when the stack is
created or updated. Its logs go to a log group with a retention, not to an unmanaged one.
"""

from __future__ import annotations

from fargate_api.config import Config
from fargate_api.synth.intrinsics import get_att, partition_arn, ref
from fargate_api.synth.template import Template

HANDLER_SOURCE = """\
import boto3
import cfnresponse

ec2 = boto3.client("ec2")


def handler(event, context):
    group_id = event["ResourceProperties"]["GroupId"]
    try:
        if event["RequestType"] in ("Create", "Update"):
            group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
            if group["IpPermissions"]:
                ec2.revoke_security_group_ingress(
                    GroupId=group_id, IpPermissions=group["IpPermissions"]
                )
            if group["IpPermissionsEgress"]:
                ec2.revoke_security_group_egress(
                    GroupId=group_id, IpPermissions=group["IpPermissionsEgress"]
                )
        cfnresponse.send(event, context, cfnresponse.SUCCESS, {}, group_id)
    except Exception as exc:
        cfnresponse.send(event, context, cfnresponse.FAILED, {}, group_id, reason=str(exc))
"""


def lockdown_log_retention(config: Config) -> tuple[str, int]:
    """The config key and the days of the function's log retention: the service's, or
    the longest of the [[services]]."""
    services = config.service_list()
    index = max(range(len(services)), key=lambda i: services[i].log_retention_days)
    return f"{config.service_key(index)}.log_retention_days", services[index].log_retention_days


def add_default_security_group_lockdown(t: Template, config: Config) -> None:
    group_arn = partition_arn(
        "ec2", "security-group/${VPC.DefaultSecurityGroup}", region=True, account=True
    )
    t.add(
        "RestrictDefaultSecurityGroupLogGroup",
        "AWS::Logs::LogGroup",
        {"RetentionInDays": lockdown_log_retention(config)[1]},
        retain=True,
    )
    t.add(
        "RestrictDefaultSecurityGroupRole",
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": "revoke-default-security-group-rules",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "ec2:DescribeSecurityGroups",
                                "Resource": "*",
                            },
                            {
                                "Effect": "Allow",
                                "Action": [
                                    "ec2:RevokeSecurityGroupIngress",
                                    "ec2:RevokeSecurityGroupEgress",
                                ],
                                "Resource": group_arn,
                            },
                            {
                                "Effect": "Allow",
                                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                "Resource": get_att("RestrictDefaultSecurityGroupLogGroup", "Arn"),
                            },
                        ],
                    },
                }
            ],
        },
    )
    t.add(
        "RestrictDefaultSecurityGroupFunction",
        "AWS::Lambda::Function",
        {
            "Description": "Removes every rule of the VPC's default security group",
            "Runtime": "python3.13",
            "Handler": "index.handler",
            "Timeout": 60,
            "MemorySize": 128,
            "Role": get_att("RestrictDefaultSecurityGroupRole", "Arn"),
            "LoggingConfig": {"LogGroup": ref("RestrictDefaultSecurityGroupLogGroup")},
            "Code": {"ZipFile": HANDLER_SOURCE},
        },
    )
    t.add(
        "RestrictDefaultSecurityGroup",
        "Custom::RestrictDefaultSecurityGroup",
        {
            "ServiceToken": get_att("RestrictDefaultSecurityGroupFunction", "Arn"),
            "GroupId": get_att("VPC", "DefaultSecurityGroup"),
        },
    )
