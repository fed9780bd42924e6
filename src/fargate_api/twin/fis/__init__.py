"""Fault injection, imitating AWS Fault Injection Service (FIS) actions on the twin.

FIS breaks a deployed account on purpose (an AZ's power, a NAT gateway, a task's network
or CPU) so a team can watch its service survive; the twin does the same to its own
namespaces, processes and cgroups, on this machine, for free.

Host side (kernel changes, helper processes), all idempotent and leaving nothing behind:

* network_rules.py: the faults as nftables scripts, pure text (AZ isolation in the VPC
  router, NAT gateway loss, a task's blackhole, the latency redirect).
* network_faults.py: applies and removes them through host/kernel.py; latency is
  ``tc netem`` where the kernel has it, else the task's TCP through delay_proxy.py.
* delay_proxy.py: the delaying TCP proxy run in a task's namespace (server module).
* cpu_stress.py: a CPU burner put into the task's cgroup (``aws:ecs:task-cpu-stress``).

Control side: requests.py (a fault request checked, pure), manager.py (the daemon's
active faults, their durations and healing); experiment_*.py, load_generator.py and
egress_probe.py run an experiment file against the twin and judge it.
"""
