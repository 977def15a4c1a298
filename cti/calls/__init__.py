"""Calls as the daemon sees them: the state machine, live state in Redis, the handlers."""
