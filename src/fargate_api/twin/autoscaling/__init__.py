"""Application Auto Scaling as the twin runs it: target tracking on the load balancer's counters."""
