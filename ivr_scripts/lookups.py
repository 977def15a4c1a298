"""Lookups: where a flow gets data from. Registered Python functions or HTTP endpoints.

A registered function takes the node's evaluated ``params`` (a dict) and returns a dict whose
items become flow variables. It must be pure and non-blocking: it runs inside the daemon's
gevent loop. Anything that needs the database is an HTTP endpoint on the Django side (see
ivr/api/), called by :class:`HttpLookupClient` with a timeout; a timeout or failure sends the
flow down the node's ``error`` branch.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

LookupFunction = Callable[[Mapping[str, Any]], Mapping[str, Any]]


class LookupFailed(Exception):
    """A lookup that failed: unknown function, timeout, HTTP error or bad reply."""


class LookupRegistry:
    """Named pure functions flows may call from a ``lookup`` node."""

    def __init__(self, functions: Mapping[str, LookupFunction] | None = None) -> None:
        self._functions: dict[str, LookupFunction] = dict(functions or {})

    def register(self, name: str, function: LookupFunction) -> None:
        if name in self._functions:
            raise ValueError(f"lookup {name!r} is already registered")
        self._functions[name] = function

    def names(self) -> list[str]:
        return sorted(self._functions)

    def call(self, name: str, params: Mapping[str, Any]) -> dict[str, Any]:
        function = self._functions.get(name)
        if function is None:
            raise LookupFailed(f"no lookup function named {name!r}")
        try:
            result = function(params)
        except Exception as error:  # a flow's data source must never end the call
            raise LookupFailed(f"lookup {name!r} failed: {error}") from error
        if not isinstance(result, Mapping):
            raise LookupFailed(f"lookup {name!r} returned {type(result).__name__}, not a dict")
        return dict(result)


class HttpLookupClient:
    """POSTs a lookup's params as JSON to an endpoint and returns the JSON object it answers.

    ``base_url`` prefixes relative node URLs (e.g. ``http://127.0.0.1:8000/api/ivr/lookup/``);
    ``token`` is sent as ``Authorization: Bearer``. Under gevent's monkey patching urllib
    yields to other greenlets while it waits, so a slow endpoint never stalls other calls.
    """

    def __init__(self, base_url: str, token: str, default_timeout: float = 3.0) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.token = token
        self.default_timeout = default_timeout

    def call(
        self, url: str, params: Mapping[str, Any], timeout: float | None = None
    ) -> dict[str, Any]:
        target = urllib.parse.urljoin(self.base_url, url)
        request = urllib.request.Request(
            target,
            data=json.dumps(dict(params), default=str).encode(),
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": f"Bearer {self.token}",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.default_timeout) as reply:
                body = reply.read(1_000_000)
        except urllib.error.HTTPError as error:
            raise LookupFailed(f"{target} answered HTTP {error.code}") from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise LookupFailed(f"{target} failed: {error}") from error
        try:
            result = json.loads(body)
        except ValueError as error:
            raise LookupFailed(f"{target} did not answer JSON") from error
        if not isinstance(result, dict):
            raise LookupFailed(f"{target} answered {type(result).__name__}, not an object")
        return result


# -- functions shipped with the product -------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def check_id_number(params: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a mainland resident ID number (GB 11643 check digit).

    Callers key the final ``X`` as ``*``; the result carries the normalized number.
    """
    raw = str(params.get("id_number") or "").strip().upper().replace("*", "X")
    valid = (
        len(raw) == 18
        and raw[:17].isdigit()
        and _ID_CHECK[sum(int(d) * w for d, w in zip(raw[:17], _ID_WEIGHTS, strict=True)) % 11]
        == raw[17]
    )
    return {"id_valid": valid, "id_number": raw if valid else ""}


def default_registry() -> LookupRegistry:
    """The registry with the functions the shipped flows use."""
    return LookupRegistry({"check_id_number": check_id_number})
