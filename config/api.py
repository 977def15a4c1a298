"""API conventions shared by every app: errors carry a stable code and a human message."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Wrap DRF's error responses as {"code": ..., "message": ..., "fields": {...}}."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    codes = exc.get_codes() if hasattr(exc, "get_codes") else "error"
    data = response.data
    if isinstance(data, dict) and "detail" in data and len(data) == 1:
        code = codes if isinstance(codes, str) else "error"
        response.data = {"code": code, "message": str(data["detail"])}
    else:
        response.data = {"code": "invalid", "message": str(exc), "fields": data}
    return response


class RulesModelPermission:
    """DRF permission: the model's add/view/change/delete permission, checked through rules."""

    ACTION_PERMS = {
        "GET": "view",
        "HEAD": "view",
        "OPTIONS": "view",
        "POST": "add",
        "PUT": "change",
        "PATCH": "change",
        "DELETE": "delete",
    }

    def _perm(self, request, view) -> str:
        model = view.get_queryset().model
        action = self.ACTION_PERMS.get(request.method, "change")
        return f"{model._meta.app_label}.{action}_{model._meta.model_name}"

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(self._perm(request, view)))

    def has_object_permission(self, request, view, obj) -> bool:
        return request.user.has_perm(self._perm(request, view), obj)
