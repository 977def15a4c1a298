"""Words the desk's and the wallboard's scripts show, translated on the server."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from cti.control.protocol import ACTIONS
from cti.models import CallDirection


def state_labels() -> dict[str, str]:
    return {
        "logged_out": pgettext("agent state", "Logged out"),
        "ready": pgettext("agent state", "Ready"),
        "busy": pgettext("agent state", "Busy"),
        "offered": pgettext("agent state", "Ringing"),
        "talking": pgettext("agent state", "Talking"),
        "wrap_up": pgettext("agent state", "Wrap-up"),
    }


def call_state_labels() -> dict[str, str]:
    return {
        "arrived": pgettext("call state", "Arriving"),
        "ivr": pgettext("call state", "In the IVR"),
        "queued": pgettext("call state", "Waiting in queue"),
        "offered": pgettext("call state", "Ringing"),
        "bridged": pgettext("call state", "Connected"),
        "held": pgettext("call state", "On hold"),
        "transferring": pgettext("call state", "Transferring"),
        "conference": pgettext("call state", "In conference"),
        "survey": pgettext("call state", "Satisfaction survey"),
        "voicemail": pgettext("call state", "Leaving a message"),
        "ended": pgettext("call state", "Ended"),
    }


def direction_labels() -> dict[str, str]:
    return {direction.value: str(direction.label) for direction in CallDirection}


def action_labels() -> dict[str, str]:
    labels = {
        "login": pgettext("call control", "Log in to phone"),
        "logout": pgettext("call control", "Log out of phone"),
        "ready": pgettext("call control", "Ready"),
        "busy": pgettext("call control", "Busy"),
        "answer": pgettext("call control", "Answer"),
        "hangup": pgettext("call control", "Hang up"),
        "hold": pgettext("call control", "Hold"),
        "resume": pgettext("call control", "Resume"),
        "transfer": pgettext("call control", "Blind transfer"),
        "consult": pgettext("call control", "Consult (attended)"),
        "consult_complete": pgettext("call control", "Complete transfer"),
        "consult_cancel": pgettext("call control", "Back to caller"),
        "conference": pgettext("call control", "Three-way call"),
        "dial": pgettext("call control", "Call"),
        "listen": pgettext("call control", "Listen"),
        "whisper": pgettext("call control", "Whisper"),
        "barge": pgettext("call control", "Barge in"),
        "force_hangup": pgettext("call control", "Force hang-up"),
        "force_logout": pgettext("call control", "Force logout"),
        "force_busy": pgettext("call control", "Force busy"),
        "force_ready": pgettext("call control", "Force ready"),
    }
    # An action the daemon gained later is shown by its code until it gets a label.
    return {action: labels.get(action, action) for action in ACTIONS}


def page_text() -> dict:
    return {
        "states": state_labels(),
        "callStates": call_state_labels(),
        "directions": direction_labels(),
        "actions": action_labels(),
        "incomingCall": _("Incoming call"),
        "answeredOnSoftphone": _("Answered on the softphone."),
        "ivrPlaceholder": _("IVR flow code"),
        "numberPlaceholder": _("Phone number"),
        "phoneStatus": {
            "simulated": _("simulated phone"),
            "softphone": _("softphone starting"),
            "unconfigured": _("desk phone (no softphone URL configured)"),
            "registered": _("softphone registered"),
            "unregistered": _("softphone not registered"),
            "registration_failed": _("softphone registration failed"),
            "disconnected": _("softphone disconnected"),
        },
    }
