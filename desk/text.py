"""Words the desk's and the wallboard's scripts show, translated on the server."""

from __future__ import annotations

from django.utils.translation import gettext as _

from cti.control.protocol import ACTIONS


def state_labels() -> dict[str, str]:
    return {
        "logged_out": _("Logged out"),
        "ready": _("Ready"),
        "busy": _("Busy"),
        "offered": _("Ringing"),
        "talking": _("Talking"),
        "wrap_up": _("Wrap-up"),
    }


def call_state_labels() -> dict[str, str]:
    return {
        "arrived": _("Arriving"),
        "ivr": _("In the IVR"),
        "queued": _("Waiting in queue"),
        "offered": _("Ringing"),
        "bridged": _("Connected"),
        "held": _("On hold"),
        "transferring": _("Transferring"),
        "conference": _("Three-way call"),
        "survey": _("Satisfaction survey"),
        "voicemail": _("Leaving a message"),
        "ended": _("Ended"),
    }


def action_labels() -> dict[str, str]:
    labels = {
        "login": _("Log in to phone"),
        "logout": _("Log out of phone"),
        "ready": _("Ready"),
        "busy": _("Busy"),
        "answer": _("Answer"),
        "hangup": _("Hang up"),
        "hold": _("Hold"),
        "resume": _("Resume"),
        "transfer": _("Blind transfer"),
        "consult": _("Consult (attended)"),
        "consult_complete": _("Complete transfer"),
        "consult_cancel": _("Back to caller"),
        "conference": _("Three-way call"),
        "dial": _("Call"),
        "listen": _("Listen"),
        "whisper": _("Whisper"),
        "barge": _("Barge in"),
        "force_hangup": _("Force hang-up"),
        "force_logout": _("Force logout"),
        "force_busy": _("Force busy"),
        "force_ready": _("Force ready"),
    }
    # An action the daemon gained later is shown by its code until it gets a label.
    return {action: labels.get(action, action) for action in ACTIONS}


def page_text() -> dict:
    return {
        "states": state_labels(),
        "callStates": call_state_labels(),
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
