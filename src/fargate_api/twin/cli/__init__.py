"""`fargate-api local ...`: the twin's command line; it talks to the daemon through files."""
