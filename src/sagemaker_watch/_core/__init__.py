"""The pure core: statuses, snapshots, events, the diff and the schedule; no I/O."""
