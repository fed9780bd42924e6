"""ECS as the twin runs it: the service scheduler's decisions (service_scheduler.py, pure)
and their effects on the host (scheduler.py), the rolling-update arithmetic, task processes."""
