"""``make bench``: measures the platform against its goals (see docs/benchmarks.md)."""
