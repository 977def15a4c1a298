"""Sign-in, sign-out and the landing page that leads each role to its screens."""

from typing import cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from accounts.models import User

# (role, url name, label): the screens each role works in. Names that are not routed
# yet (their app has not been installed) are left out of the page.
ROLE_LINKS = [
    (Role.AGENT, "desk:index", _("Agent desk")),
    (Role.SUPERVISOR, "wallboard:index", _("Supervisor wallboard")),
    (Role.BACKOFFICE, "crm:index", _("Back office")),
    (Role.ADMIN, "admin:index", _("Administration")),
    (Role.SUPERVISOR, "admin:index", _("Administration")),
]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = cast("User", request.user)  # login_required: never anonymous here
    links = []
    seen = set()
    for role, url_name, label in ROLE_LINKS:
        if not user.has_role(role) or url_name in seen:
            continue
        try:
            links.append({"url": reverse(url_name), "label": label})
        except NoReverseMatch:
            continue
        seen.add(url_name)
    roles = [Role(code).label for code in sorted(user.roles)]
    return render(request, "accounts/home.html", {"links": links, "roles": roles})
