"""The process that owns a running twin, its state file and the requests it answers."""
