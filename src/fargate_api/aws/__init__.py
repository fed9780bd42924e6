"""The AWS back-end: the synthesized templates deployed as three top-level stacks.

It reads templates, never the config (apart from the default stack name), and talks to
CloudFormation, ECS, ELBv2, EC2 and CloudWatch Logs through boto3.
"""
