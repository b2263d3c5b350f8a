"""The drivers: watch(), the waiters and the fleet, over the core and the shell."""
