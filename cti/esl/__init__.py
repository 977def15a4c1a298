"""The Event Socket edge: frames and typed events in, commands out.

``frames`` splits the byte stream, ``events`` types the events, ``inbound`` is the
daemon's connection to FreeSWITCH's port 8021, ``outbound`` serves the dialplan's
``socket`` application.
"""
