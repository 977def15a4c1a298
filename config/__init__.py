"""Django project for the call-center platform; also exposes the Celery app."""

from config.celery import app as celery_app

__all__ = ("celery_app",)
