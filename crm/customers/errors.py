"""The error every crm service raises when a business rule says no, and its API form."""

from __future__ import annotations

from rest_framework import status
from rest_framework.exceptions import APIException


class BusinessRuleError(Exception):
    """A request that breaks a business rule: a stable machine code and a human message."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = str(message)
        self.field = field


class BusinessRuleConflict(APIException):
    """The API form of BusinessRuleError: HTTP 409 with {"code": ..., "message": ...}."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"

    @classmethod
    def from_error(cls, error: BusinessRuleError) -> BusinessRuleConflict:
        return cls(detail=error.message, code=error.code)


def api_error(error: BusinessRuleError) -> APIException:
    """403 for a refused permission, 409 for any other broken rule; the code is kept."""
    from rest_framework.exceptions import PermissionDenied

    if error.code == "permission_denied":
        return PermissionDenied(detail=error.message, code=error.code)
    return BusinessRuleConflict.from_error(error)
