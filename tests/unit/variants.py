"""Named configs (TOML text) that the synth tests run against."""

from __future__ import annotations

PRIVATE_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.0"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/abc-123"
SSM_SECRET = "arn:aws:ssm:us-east-1:123456789012:parameter/prod/api-key"
MANAGED_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-url:password::"

VARIANTS: dict[str, str] = {
    "default": "",
    "single-nat": '[network]\nnat = "single"\n',
    "nat-none": f"""
[network]
nat = "none"
vpc_endpoints = true

[service]
image = "{PRIVATE_IMAGE}"
""",
    "https": f'[load_balancer]\ncertificate_arn = "{CERTIFICATE}"\n',
    "domain": (
        '[load_balancer]\ndomain = "api.example.com"\nhosted_zone_id = "Z0123456789ABCDEFGHIJ"\n'
    ),
    "domain-zone-lookup": '[load_balancer]\ndomain = "api.example.com"\n',
    "https-custom-ports": f"""
[load_balancer]
certificate_arn = "{CERTIFICATE}"
http_port = 8080
https_port = 8443
ingress_cidrs = ["203.0.113.0/24", "198.51.100.0/24"]
""",
    "autoscaling-cpu": "[autoscaling]\nmin = 2\nmax = 6\ncpu_target = 60\n",
    "autoscaling-requests": "[autoscaling]\nmin = 1\nmax = 20\nrequests_per_target = 500\n",
    "autoscaling-both": """
[autoscaling]
min = 2
max = 10
cpu_target = 70.5
requests_per_target = 1000
scale_in_cooldown = 120
scale_out_cooldown = 30
""",
    "arm64": '[service]\nplatform = "ARM64"\n',
    "spot-50": "[service]\nspot = 50\n",
    "spot-100": "[service]\nspot = 100\n",
    "secrets": f"""
[network]
vpc_endpoints = true

[service]
image = "{PRIVATE_IMAGE}"

[service.environment]
LOG_LEVEL = "info"

[service.secrets]
API_KEY = "{SSM_SECRET}"
DB_PASSWORD = "{MANAGED_SECRET}"
""",
    "six-azs": "[network]\naz_count = 6\n",
    "six-azs-single-nat": '[network]\naz_count = 6\nnat = "single"\ncidr = "10.20.0.0/20"\n',
    "explicit-subnets": """
[network]
cidr = "10.1.0.0/16"
az_count = 3
public_subnets = ["10.1.0.0/24", "10.1.1.0/24", "10.1.2.0/24"]
private_subnets = ["10.1.16.0/20", "10.1.32.0/20", "10.1.48.0/20"]
""",
    "custom-image": """
name = "orders"

[network]
flow_logs = false

[service]
name = "orders-api"
image = "ghcr.io/acme/orders:2.3.1"
port = 8080
cpu = 1024
memory = 4096
desired_count = 3
command = ["gunicorn", "app:app"]
user = "1000:1000"
deregistration_delay = 90
stop_timeout = 120
unhealthy_threshold = 3
container_insights = false

[load_balancer]
idle_timeout = 60
""",
    # [deployment]: the three traffic-shifting strategies and a rolling one with alarms.
    "blue-green": f"""
[load_balancer]
certificate_arn = "{CERTIFICATE}"

[deployment]
strategy = "blue_green"
bake_time = 20
test_listener_port = 8443
test_traffic_time = 10
test_listener_cidrs = ["203.0.113.0/24"]
""",
    "canary": """
[deployment]
strategy = "canary"
canary_percent = 10.0
canary_interval = 15
test_listener_port = 8080

[deployment.alarms]
error_rate_percent = 1.0
p99_response_time = 1.5
evaluation_periods = 3
datapoints_to_alarm = 2
""",
    "linear": """
[service]
desired_count = 4

[autoscaling]
min = 4
max = 12
cpu_target = 60

[deployment]
strategy = "linear"
linear_percent = 25.0
linear_interval = 5
bake_time = 10
alarms = { unhealthy_hosts = false }
""",
    "rolling-alarms": "[deployment]\nalarms = true\n",
}

# [[services]]: several services behind one load balancer (load-balancer.yml and one
# service-<name>.yml each). Apart from VARIANTS, whose tests read the one service.yml.
_TWO_SERVICES = """
[[services]]
name = "api"
paths = ["/api/*"]
desired_count = 2

[services.autoscaling]
min = 2
max = 8
cpu_target = 60
{requests}
[[services]]
name = "web"
image = "ghcr.io/acme/storefront:3.2.0"
port = 8080
user = "1000:1000"
paths = ["/*"]
allow_from = ["api"]
"""
SERVICES_VARIANTS: dict[str, str] = {
    "services": _TWO_SERVICES.format(requests="requests_per_target = 500\n"),
    "services-canary": _TWO_SERVICES.format(requests="")
    + '\n[deployment]\nstrategy = "canary"\ntest_listener_port = 9000\n',
    "services-https-hosts": f"""
[load_balancer]
certificate_arn = "{CERTIFICATE}"

[[services]]
name = "api-v2"
image = "{PRIVATE_IMAGE}"
user = "1000"
hosts = ["api.example.com"]
paths = ["/v2/*", "/v2"]
priority = 5

[[services]]
name = "docs"
image = "{PRIVATE_IMAGE}"
user = "1000"
hosts = ["docs.example.com"]

[deployment]
strategy = "blue_green"
test_listener_port = 8443
test_listener_cidrs = ["203.0.113.0/24"]
""",
    "services-built-no-nat": f"""
[network]
nat = "none"
vpc_endpoints = true

[[services]]
name = "api"
build = "examples/api"
user = "1000"
paths = ["/api/*"]
allow_from = ["worker"]

[services.secrets]
API_KEY = "{SSM_SECRET}"

[[services]]
name = "worker"
build = "examples/api"
user = "1000"
port = 8080
paths = ["/*"]
allow_from = ["api"]

[deployment]
alarms = true
""",
    "services-one-built": f"""
[[services]]
name = "api"
build = "examples/api"
paths = ["/api/*"]

[[services]]
name = "web"
image = "{PRIVATE_IMAGE}"
paths = ["/*"]
""",
}
