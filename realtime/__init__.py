"""Live updates for browsers: the relay from the daemon's Redis pub/sub to Channels groups."""
