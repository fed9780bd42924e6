"""The commented starter config that `fargate-api init` writes.

Every key is listed with its default, commented out, so the file documents the whole
schema and still means "the defaults" until the user edits it. A unit test checks that
it parses to exactly the default model and that every model field appears in it.
"""

from __future__ import annotations

STARTER_CONFIG = """\
# fargate-api config. Every key is optional: the values shown are the defaults, which are
# the reference pattern's (a public API on Fargate in private subnets behind a public ALB,
# with NAT gateways for fixed egress IPs), made secure and reliable.
# Uncomment a line to change it. Reference: `fargate-api init --help`, docs/config.md.

# Prefix of every stack and resource name: letters, digits and '-', 28 characters at most.
name = "serverless-api-environment"

[network]
# cidr = "10.0.0.0/16"           # the VPC range, /16 to /28
# az_count = 2                   # 2 to 6 availability zones, one public + one private subnet each
# nat = "per-az"                 # per-az | single (cheaper, one AZ failure domain) | none
# vpc_endpoints = false          # S3 + ECR + Logs endpoints; required with nat = "none"
# subnet_prefix = 18             # subnet size; computed from cidr and az_count when left out
# public_subnets = ["10.0.0.0/18", "10.0.64.0/18"]      # or list every range yourself
# private_subnets = ["10.0.128.0/18", "10.0.192.0/18"]
# flow_logs = true               # VPC flow logs to CloudWatch Logs
# flow_logs_retention_days = 90

[service]
# name = "web"
# image = "public.ecr.aws/docker/library/nginx:latest"   # pin a tag or digest for production
# build = "."                    # or build the image from this folder instead of `image`:
#                                # deploy pushes it to the stack's own ECR repository
# port = 80                      # the port the container listens on
# cpu = 256                      # 256 | 512 | 1024 | 2048 | 4096 | 8192 | 16384
# memory = 512                   # MiB; must be a valid Fargate size for the cpu
# desired_count = 2
# command = ["gunicorn", "app:app"]                       # overrides the image's CMD
# platform = "X86_64"            # X86_64 | ARM64
# spot = 0                       # percent on Fargate Spot; below 100 one task stays on-demand
# health_check_path = "/"        # a cheap path with no dependency calls, e.g. "/health"
# health_check_codes = "200-399"
# health_check_interval = 10     # seconds
# health_check_timeout = 5       # seconds, shorter than the interval
# healthy_threshold = 2
# unhealthy_threshold = 2        # a dead task is ejected after interval x threshold seconds
# health_check_grace_period = 30 # seconds ECS ignores failed health checks after a start
# deregistration_delay = 45      # seconds the LB drains a task before ECS sends SIGTERM
# stop_timeout = 60              # seconds from SIGTERM to SIGKILL: longer than the drain, <= 120
# read_only_root_filesystem = "auto"  # true | false | "auto" (on unless the image needs it off)
# user = "1000:1000"             # run as this uid:gid instead of the image's user
# log_retention_days = 30
# container_insights = true

# [service.build]                # the long form of `build`, instead of `image`
# context = "."                  # relative to this file
# dockerfile = "Dockerfile"      # relative to the context
# target = "runtime"             # a stage of a multi-stage Dockerfile
# build_args = { PYTHON_VERSION = "3.11" }
# platform = "linux/amd64"       # linux/amd64 | linux/arm64 (sets the task's CPU too)
# keep_images = 30               # the repository's lifecycle policy keeps the newest N

# [service.environment]
# LOG_LEVEL = "info"

# [service.secrets]              # name -> SSM parameter or Secrets Manager ARN
# DATABASE_URL = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-url"

# Several services behind the one load balancer: one [[services]] table per service instead
# of [service] (remove the [service] table above). Each takes every [service] key, plus how
# the load balancer routes to it; a request goes to the first service, by priority, whose
# paths and hosts match it.
# [[services]]
# name = "api"                   # lower case: the stack is NAME-service-api
# paths = ["/api/*"]             # ALB path patterns (* and ? wildcards)
# hosts = ["api.example.com"]    # host names, "*.example.com" too; 5 paths + hosts at most
# priority = 10                  # the listener rule's, lowest first; default 10 x position
# allow_from = ["web"]           # services whose tasks may reach this one's port directly
# [services.autoscaling]         # this service's own scaling, as [autoscaling] below
# min = 2
# max = 10
# cpu_target = 60
# requests_per_target = 1000
# scale_in_cooldown = 60
# scale_out_cooldown = 60
#
# [[services]]
# name = "web"
# paths = ["/*"]                 # the catch-all: its default priority (20) comes last

[load_balancer]
# certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/..."  # adds HTTPS + redirect
# ssl_policy = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# http_port = 80
# https_port = 443
# idle_timeout = 30              # seconds; keep the app's keep-alive longer than this
# deletion_protection = false
# ingress_cidrs = ["0.0.0.0/0"]  # who may reach the listeners
# access_logs = { bucket = "my-alb-logs", prefix = "api" }
# domain = "api.example.com"     # serve HTTPS on this name: an ACM certificate validated by
#                                # DNS, HTTP redirected to HTTPS, a Route 53 alias record
# hosted_zone_id = "Z0123456789ABCDEFGHIJ"  # the domain's zone; default: deploy finds it by name

# [autoscaling]                  # target tracking; leave out for a fixed desired_count
# min = 2
# max = 10
# cpu_target = 60                # percent average CPU
# requests_per_target = 1000     # requests per task per minute
# scale_in_cooldown = 60
# scale_out_cooldown = 60

# [deployment]                   # how a new revision replaces the running one
# strategy = "rolling"           # rolling | blue_green | canary | linear: rolling replaces the
#                                # tasks behind one target group; the others start the new
#                                # revision behind a second one and shift the traffic to it, all
#                                # at once (blue_green), a share first (canary) or in steps (linear)
# bake_time = 15                 # minutes the old revision is kept after the last shift, for an
#                                # instant rollback; unset for rolling (ECS derives it from alarms)
# canary_percent = 5.0           # canary only: the share shifted first, 0.1 to 100
# canary_interval = 10           # canary only: minutes before the rest follows
# linear_percent = 10.0          # linear only: the share shifted at each step, 3 to 100
# linear_interval = 6            # linear only: minutes between two steps
# test_listener_port = 8080      # not with rolling: a listener that reaches the new revision first
# test_traffic_time = 5          # minutes only the test listener reaches it; 0 for no pause
# test_listener_cidrs = ["203.0.113.0/24"]  # who may reach it; default ingress_cidrs
# alarms = true                  # alarms that fail and roll back a deployment; default on except
#                                # with rolling; false for none, or the table below

# [deployment.alarms]            # the alarms, per target group (both while traffic shifts)
# error_rate_percent = 5.0       # target 5xx responses per request, percent
# p99_response_time = 2.0        # seconds; below load_balancer.idle_timeout
# unhealthy_hosts = true         # also alarm as soon as one task fails its health checks
# period = 60                    # seconds: 10, 30 or a multiple of 60
# evaluation_periods = 2
# datapoints_to_alarm = 2        # breaching periods out of evaluation_periods that fire it

[local]
# The local twin runs the image itself with podman (`local up`); without podman, or with
# `--runtime process`, it runs this shell command instead, {port} is the container port.
# Left out, process mode runs a built-in stand-in server that answers 200 on every path.
# command = "python3 -m http.server {port}"
# Values for [service] secrets in the twin only (never written into the templates);
# --secret NAME=VALUE and --secrets-file FILE do the same from the command line.
# [local.secrets]
# DB_PASSWORD = "local-only"

# Environments: one file for staging and production. An [env.NAME] table holds only what
# differs; `--env NAME` (synth, deploy, diff, config and every command with -c) merges it
# over the rest of the file: tables key by key, anything else (a value, an array,
# [[services]]) replaced whole. The stacks are then named NAME-ENV (so keep `name` short:
# 28 characters at most with the suffix) unless the table sets a `name` of its own.
# `environment` is set by --env, never written in this file. `fargate-api config --env
# production` shows each value and where it comes from; `fargate-api diff --env staging
# --env production` compares the two environments' templates.
# [env.staging.service]
# desired_count = 1
# [env.staging.network]
# nat = "single"
#
# [env.production.service]
# cpu = 1024
# memory = 2048
# desired_count = 4
# [env.production.load_balancer]
# deletion_protection = true
"""
