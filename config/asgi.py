"""ASGI entry point: HTTP through Django, websockets through Channels.

The live relay (realtime.relay) hands the daemon's `cc:live` events straight to this process's
connected consumers (realtime.registry), no channel layer in between; this process runs one
relay, started with the first websocket connection.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

import redis.asyncio as aioredis  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402
from realtime.registry import LiveRegistry  # noqa: E402
from realtime.relay import LiveRelay, RelayStarter  # noqa: E402

relay = LiveRelay(
    lambda: aioredis.Redis.from_url(settings.REDIS_URL, decode_responses=True),
    LiveRegistry(),
)

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": RelayStarter(
            AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
            relay,
        ),
    }
)
