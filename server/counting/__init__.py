"""Counting: pure rules from events to rollup deltas, owners, windows and metrics.

Nothing here imports a driver or a framework: every store runs the same rules."""
