"""The local twin: the templates run on this Linux machine as a real network.

Namespaces, veth links and policy routing stand in for the VPC; nftables for security
groups, the internet gateway's 1:1 NAT and the NAT gateways; HAProxy for the ALB; and
processes in their own namespaces for ECS tasks. Everything is derived from templates
(plan.py), never from the config, so that templates we did not write run too.
"""
