"""CloudWatch for the twin: the ALB's target group metrics and the alarms over them."""
