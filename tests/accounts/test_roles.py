"""Sign-in, roles and who may use the admin and the API."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_login_page_is_chinese_by_default(client):
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    assert "登录" in response.content.decode()


def test_login_page_ignores_browser_language_but_follows_the_switcher(client):
    response = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="en-US")
    assert "登录" in response.content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    assert "Sign in" in response.content.decode()


def test_login_and_logout(client, make_user):
    make_user("ann", "agent", password="s3cret-pass")
    response = client.post(reverse("accounts:login"), {"username": "ann", "password": "wrong"})
    assert "用户名或密码错误" in response.content.decode()
    response = client.post(
        reverse("accounts:login"), {"username": "ann", "password": "s3cret-pass"}, follow=True
    )
    assert response.context["user"].username == "ann"
    response = client.post(reverse("accounts:logout"), follow=True)
    assert not response.context["user"].is_authenticated


def test_admin_role_opens_admin_agent_role_does_not(client, make_user):
    client.force_login(make_user("root", "admin"))
    assert client.get(reverse("admin:telephony_queue_changelist")).status_code == 200
    client.force_login(make_user("ann", "agent"))
    response = client.get(reverse("admin:telephony_queue_changelist"))
    assert response.status_code == 302  # not staff: sent to the admin login


def test_supervisor_may_view_but_not_change_queues(make_user):
    supervisor = make_user("sup", "supervisor")
    assert supervisor.is_staff
    assert supervisor.has_perm("telephony.view_queue")
    assert not supervisor.has_perm("telephony.change_queue")
    assert supervisor.has_perm("telephony.add_blacklistentry")


def test_api_permissions_per_role(client, make_user):
    client.force_login(make_user("ann", "agent"))
    assert client.get("/api/telephony/queues/").status_code == 403
    client.force_login(make_user("sup", "supervisor"))
    assert client.get("/api/telephony/queues/").status_code == 200
    response = client.post("/api/telephony/busy-reasons/", {"code": "x", "name": "x"})
    assert response.status_code == 403
    client.force_login(make_user("root", "admin"))
    response = client.post("/api/telephony/busy-reasons/", {"code": "coffee", "name": "咖啡"})
    assert response.status_code == 201


def test_home_lists_the_screens_of_the_users_roles(client, make_user):
    client.force_login(make_user("sup", "supervisor"))
    body = client.get(reverse("accounts:home")).content.decode()
    assert reverse("admin:index") in body
    assert "班长" in body


def test_setting_roles_replaces_the_previous_ones(make_user):
    from accounts.services import set_user_roles

    user = make_user("sam", "admin")
    set_user_roles(user, ["agent"])
    user.refresh_from_db()
    assert user.roles == {"agent"} and not user.is_staff
    with pytest.raises(ValueError):
        set_user_roles(user, ["janitor"])
