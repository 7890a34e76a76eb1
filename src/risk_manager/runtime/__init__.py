"""The daemon: supervisor, account actors, enforcer, scheduler, reconciler, metrics."""
