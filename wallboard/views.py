"""The supervisor wallboard page and its per-agent interventions."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.rules import is_admin, is_supervisor
from cti.control.protocol import SUPERVISOR_ACTIONS
from desk.services import agent_of, busy_reason_names, command_client
from desk.text import page_text
from wallboard import services

COMMAND_TIMEOUT_SECONDS = 5.0


def _require_supervisor(request: HttpRequest) -> None:
    if not (is_supervisor(request.user) or is_admin(request.user)):
        raise PermissionDenied(_("Only supervisors may open the wallboard."))


@login_required
def index(request: HttpRequest) -> HttpResponse:
    _require_supervisor(request)
    own = agent_of(request.user)
    config = {
        "urls": {"act": reverse("wallboard:act", args=[0, "listen"]).rsplit("/", 3)[0] + "/"},
        "ownExtension": own.extension if own else "",
        "text": {
            **page_text(),
            "busyReasons": busy_reason_names(),
            "agentsByState": _("Agents by state"),
            "waitingCalls": _("Waiting calls"),
            "noAgent": _("Choose an agent first."),
        },
    }
    context = {
        "groups": services.group_counts(request.user),
        "wallboard_config": config,
        "supervisor_actions": [
            ("listen", _("Listen")),
            ("whisper", _("Whisper")),
            ("barge", _("Barge in")),
            ("force_hangup", _("Force hang-up")),
            ("force_busy", _("Force busy")),
            ("force_ready", _("Force ready")),
            ("force_logout", _("Force logout")),
        ],
    }
    return render(request, "wallboard/index.html", context)


@login_required
@require_POST
def act(request: HttpRequest, agent_id: int, action: str) -> JsonResponse:
    """One intervention on one agent of the supervisor's groups."""
    _require_supervisor(request)
    if action not in SUPERVISOR_ACTIONS:
        raise Http404
    if not services.may_supervise(request.user, agent_id):
        return JsonResponse(
            {
                "accepted": False,
                "code": "not_your_agent",
                "message": _("This agent is not in a group you supervise."),
                "detail": "",
                "data": {},
            },
            status=403,
        )
    client = command_client(settings.REDIS_URL, COMMAND_TIMEOUT_SECONDS)
    reply = services.supervise(
        client, request.user, agent_id, action, request.POST.get("extension", "").strip()
    )
    return JsonResponse(reply.as_dict())
