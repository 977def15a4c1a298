"""The agent desk: one page, HTMX partials for the CRM panels, JSON for call control."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.customers.errors import BusinessRuleError
from crm.customers.services import create_customer
from crm.records.services import create_service_record, unfinished_service_records
from desk import services
from desk.forms import NewCustomerForm, ServiceRecordForm
from desk.text import page_text
from ivr.models import VoicemailMessage
from ivr.services import change_voicemail_status, voicemails_for

COMMAND_TIMEOUT_SECONDS = 5.0


def _seat(request: HttpRequest):
    agent = services.agent_of(request.user)
    if agent is None:
        raise PermissionDenied(_("Your account is not linked to an agent seat."))
    return agent


def _phone_settings(agent) -> dict:
    """How the page reaches a phone: JsSIP softphone, desk phone, or the simulator's."""
    return {
        "mode": "simulated" if settings.SWITCH_SIMULATOR else "softphone",
        "websocket_url": getattr(settings, "SOFTPHONE_WEBSOCKET_URL", ""),
        "sip_domain": getattr(settings, "SOFTPHONE_SIP_DOMAIN", "") or "",
        "extension": agent.extension,
        "password": agent.sip_password,
    }


@login_required
def index(request: HttpRequest) -> HttpResponse:
    agent = services.agent_of(request.user)
    if agent is None:
        return render(request, "desk/no_seat.html", status=403)
    reasons = services.busy_reasons()
    desk_config = {
        "agentId": agent.pk,
        "phone": _phone_settings(agent),
        "busyReasons": reasons,
        "targets": services.transfer_targets(agent),
        "urls": {"command": reverse("desk:command", args=["x"])[:-2], "card": reverse("desk:card")},
        "text": {
            **page_text(),
            "busyReasons": services.busy_reason_names(),
        },
    }
    context = {
        "agent": agent,
        "busy_reasons": reasons,
        "desk_config": desk_config,
        "record_form": ServiceRecordForm(),
        "roots": services.categories_under(None),
    }
    return render(request, "desk/index.html", context)


@login_required
@require_POST
def command(request: HttpRequest, action: str) -> JsonResponse:
    """Send one call-control request to the daemon; the page shows the reply as it is."""
    _seat(request)
    if not services.is_agent_action(action):
        raise Http404
    try:
        args = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"accepted": False, "code": "bad_arguments"}, status=400)
    if not isinstance(args, dict):
        return JsonResponse({"accepted": False, "code": "bad_arguments"}, status=400)
    client = services.command_client(settings.REDIS_URL, COMMAND_TIMEOUT_SECONDS)
    reply = services.send_command(client, request.user, action, args)
    return JsonResponse(reply.as_dict())


@login_required
@require_GET
def card(request: HttpRequest) -> HttpResponse:
    """The customer card of a number, or the new-customer form when nobody owns it."""
    _seat(request)
    number = request.GET.get("number", "").strip()
    context = {"number": number, "call_uuid": request.GET.get("call_uuid", "")}
    if not number:
        return render(request, "desk/partials/card_empty.html", context)
    found = services.card_for_number(number)
    if found is None:
        form = NewCustomerForm(initial={"phone": services.normalized_or_raw(number)})
        return render(request, "desk/partials/new_customer.html", {**context, "form": form})
    return render(request, "desk/partials/card.html", {**context, **found})


@login_required
@require_POST
def new_customer(request: HttpRequest) -> HttpResponse:
    agent = _seat(request)
    form = NewCustomerForm(request.POST)
    context = {"number": request.POST.get("phone", ""), "call_uuid": ""}
    if form.is_valid():
        data = form.cleaned_data
        try:
            customer = create_customer(
                name=data["name"],
                phones=[data["phone"]],
                vip_level=data["vip_level"],
                region=data["region"],
                notes=data["notes"],
                owner=agent,
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                target = "phone" if field == "phones" else field
                form.add_error(target if target in form.fields else None, messages)
        else:
            return render(
                request,
                "desk/partials/card.html",
                {**context, **services.customer_card(customer), "created": True},
            )
    return render(request, "desk/partials/new_customer.html", {**context, "form": form})


@login_required
@require_GET
def categories(request: HttpRequest) -> HttpResponse:
    """<option>s of the next level of the category tree (HTMX cascading selects)."""
    _seat(request)
    parent = request.GET.get("parent") or request.GET.get("directory") or request.GET.get("kind")
    try:
        parent_id = int(parent) if parent else None
    except ValueError:
        return HttpResponseBadRequest()
    children = services.categories_under(parent_id) if parent_id else []
    return render(request, "desk/partials/category_options.html", {"categories": children})


@login_required
@require_POST
def create_record(request: HttpRequest) -> HttpResponse:
    agent = _seat(request)
    form = ServiceRecordForm(request.POST)
    saved = None
    if form.is_valid():
        data = form.cleaned_data
        customer = None
        if data["customer"]:
            from crm.customers.models import Customer

            customer = Customer.objects.filter(pk=data["customer"]).first()
        try:
            saved = create_service_record(
                by_user=request.user,
                agent=agent,
                category=data["category"],
                description=data["description"],
                customer=customer,
                caller_number=data["caller_number"],
                call_uuid=data["call_uuid"] or None,
                status=data["status"],
                follow_up_date=data["follow_up_date"],
            )
        except BusinessRuleError as error:
            form.add_error(
                error.field if getattr(error, "field", None) in form.fields else None,
                error.message,
            )
    if saved is not None:
        form = ServiceRecordForm()
    context = {
        "record_form": form,
        "saved": saved,
        "roots": services.categories_under(None),
    }
    return render(request, "desk/partials/record_form.html", context)


@login_required
@require_GET
def unfinished(request: HttpRequest) -> HttpResponse:
    agent = _seat(request)
    records = unfinished_service_records(agent)[:50]
    return render(request, "desk/partials/unfinished.html", {"records": records})


@login_required
@require_GET
def voicemail(request: HttpRequest) -> HttpResponse:
    _seat(request)
    messages = voicemails_for(request.user).exclude(status="handled")[:50]
    return render(request, "desk/partials/voicemail.html", {"messages": messages})


@login_required
@require_GET
def voicemail_audio(request: HttpRequest, pk: int) -> FileResponse:
    message = get_object_or_404(voicemails_for(request.user), pk=pk)
    path = Path(message.recording_path)
    if not path.is_file():
        raise Http404(_("The recording file is missing."))
    content_type = mimetypes.guess_type(path.name)[0] or "audio/wav"
    return FileResponse(path.open("rb"), content_type=content_type)


@login_required
@require_POST
def voicemail_status(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(VoicemailMessage, pk=pk)
    error = ""
    try:
        change_voicemail_status(message, request.POST.get("status", ""), request.user)
    except ValidationError as invalid:
        error = "; ".join(invalid.messages)
    messages = voicemails_for(request.user).exclude(status="handled")[:50]
    return render(request, "desk/partials/voicemail.html", {"messages": messages, "error": error})


@login_required
@require_GET
def returns(request: HttpRequest) -> HttpResponse:
    agent = _seat(request)
    return render(request, "desk/partials/returns.html", {"calls": services.calls_to_return(agent)})


@login_required
@require_POST
def return_done(request: HttpRequest, call_uuid: str) -> HttpResponse:
    agent = _seat(request)
    if call_uuid not in {c.call_uuid for c in services.calls_to_return(agent)}:
        raise Http404
    services.mark_call_returned(call_uuid=call_uuid, user=request.user)
    return render(request, "desk/partials/returns.html", {"calls": services.calls_to_return(agent)})
