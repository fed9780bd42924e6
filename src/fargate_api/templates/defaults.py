"""What AWS does with a setting a template leaves out.

A template that omits HealthCheckIntervalSeconds still gets a health check every 30 s;
`check` must judge that value and the twin must run it. Both reading the same number
from here is what keeps a finding ("a failing task gets traffic for 60 s") and the
twin's behaviour in step. Values are the CloudFormation / service API defaults.
"""

from __future__ import annotations

# Elastic Load Balancing v2 (application load balancers, ip targets)
IDLE_TIMEOUT = 60  # seconds, idle_timeout.timeout_seconds
DEREGISTRATION_DELAY = 300  # seconds, deregistration_delay.timeout_seconds
HEALTH_CHECK_INTERVAL = 30  # seconds, HealthCheckIntervalSeconds
HEALTH_CHECK_TIMEOUT = 5  # seconds, HealthCheckTimeoutSeconds (HTTP/HTTPS)
HEALTHY_THRESHOLD = 5  # HealthyThresholdCount
UNHEALTHY_THRESHOLD = 2  # UnhealthyThresholdCount

# ECS services and task definitions on Fargate
DESIRED_COUNT = 1  # DesiredCount, when the service has no scaling to set it
STOP_TIMEOUT = 30  # seconds, a container's StopTimeout
MINIMUM_HEALTHY_PERCENT = 100  # DeploymentConfiguration.MinimumHealthyPercent
MAXIMUM_PERCENT = 200  # DeploymentConfiguration.MaximumPercent

# ECS deployments (DeploymentController, DeploymentConfiguration)
DEPLOYMENT_CONTROLLER = "ECS"  # DeploymentController.Type
DEPLOYMENT_STRATEGY = "ROLLING"  # DeploymentConfiguration.Strategy
# BakeTimeInMinutes for BLUE_GREEN, LINEAR and CANARY; a ROLLING deployment has none unless
# set (with deployment alarms ECS then derives its own watch time from the alarms).
BAKE_TIME_MINUTES = 15
CANARY_PERCENT = 5.0  # CanaryConfiguration.CanaryPercent
CANARY_BAKE_MINUTES = 10  # CanaryConfiguration.CanaryBakeTimeInMinutes
LINEAR_STEP_PERCENT = 10.0  # LinearConfiguration.StepPercent
LINEAR_BAKE_MINUTES = 6  # LinearConfiguration.StepBakeTimeInMinutes
LIFECYCLE_HOOK_TARGET_TYPE = "AWS_LAMBDA"  # LifecycleHooks[].TargetType

# CloudWatch alarms
TREAT_MISSING_DATA = "missing"  # TreatMissingData
