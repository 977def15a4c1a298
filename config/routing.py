"""Websocket routes; each app that pushes live updates adds its consumers here."""

from django.urls import path

from desk.consumers import DeskConsumer
from wallboard.consumers import WallboardConsumer

websocket_urlpatterns: list = [
    path("ws/desk/", DeskConsumer.as_asgi()),
    path("ws/wallboard/", WallboardConsumer.as_asgi()),
]
