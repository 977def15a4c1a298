"""Call control requests from the web tier to the daemon, over a Redis command stream."""
