"""The ACD core of the CTI daemon: pure strategies, live state in Redis, the router.

No Django here: the daemon runs this under gevent with plain redis-py. See docs/acd.md.
"""
