"""The ALB as the twin runs it: HAProxy's configuration, its runtime API, TLS."""
