"""The IVR engine and the flows that ship with the product.

Nothing here imports Django: the engine runs inside the gevent daemon, reads flows from the
Redis snapshot that the ``ivr`` Django app publishes, and talks to the call only through the
:class:`ivr_scripts.media.Media` protocol. See docs/ivr.md for the flow format.
"""
