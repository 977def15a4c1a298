"""Writing a whole message to a socket with one system call in the usual case."""

from __future__ import annotations

from typing import Any


def send_all(sock: Any, data: bytes) -> None:
    """Write all of ``data`` to ``sock`` (a gevent or a standard socket).

    One ``send`` usually takes a message of a few kilobytes whole. gevent's ``sendall`` asks
    the kernel for the send buffer's size (a ``getsockopt``) and sets up a chunking loop on
    every call, so it is left for the rest of a message the kernel did not take at once.
    Errors are those of ``send`` and ``sendall``.
    """
    sent = sock.send(data)
    if sent < len(data):
        sock.sendall(memoryview(data)[sent:])
