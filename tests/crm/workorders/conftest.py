"""Fixtures for work order tests: departments, a three-stage workflow, users, records."""

from __future__ import annotations

from types import SimpleNamespace

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Users and query passwords are hashed in almost every test; keep that cheap."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(make_user):
    """Users in every role; `handler` and `lead` belong to the handling department."""
    return SimpleNamespace(
        clerk=make_user("clerk", "backoffice"),
        handler=make_user("handler", "backoffice"),
        outsider=make_user("outsider", "backoffice"),
        lead=make_user("lead", "supervisor"),
        supervisor=make_user("sup", "supervisor"),
        admin=make_user("root", "admin"),
        agent=make_user("ann", "agent"),
        other_agent=make_user("bob", "agent"),
    )


@pytest.fixture
def flow(people):
    """受理 (intake, 2 h) → 处理 (handling, 24 h, back office) → 办结 (done)."""
    from crm.workorders.models import Department, Workflow, WorkflowNode, WorkflowTransition

    intake = Department.objects.create(name="受理组")
    intake.members.add(people.clerk)
    handling = Department.objects.create(name="公积金中心")
    handling.members.add(people.handler, people.lead)
    workflow = Workflow.objects.create(name="公积金咨询转办")
    start = WorkflowNode.objects.create(
        workflow=workflow, name="受理", department=intake, time_limit_hours=2, is_start=True
    )
    work = WorkflowNode.objects.create(
        workflow=workflow,
        name="处理",
        department=handling,
        assignee_role="backoffice",
        time_limit_hours=24,
    )
    done = WorkflowNode.objects.create(workflow=workflow, name="办结", is_end=True)
    return SimpleNamespace(
        workflow=workflow,
        intake=intake,
        handling=handling,
        start=start,
        work=work,
        done=done,
        to_work=WorkflowTransition.objects.create(from_node=start, to_node=work, label="转办"),
        back=WorkflowTransition.objects.create(from_node=work, to_node=start, label="退回"),
        finish=WorkflowTransition.objects.create(from_node=work, to_node=done, label="办结"),
    )


@pytest.fixture
def make_record(db):
    """A service record written by `user` (through the records service)."""
    from crm.records.models import ServiceCategory
    from crm.records.services import create_service_record

    directory = ServiceCategory.objects.create(name="社保")
    kind = ServiceCategory.objects.create(name="公积金", parent=directory)
    leaf = ServiceCategory.objects.create(name="提取咨询", parent=kind)

    def make(user, description: str = "来电咨询公积金提取，需要后台核实"):
        return create_service_record(by_user=user, category=leaf, description=description)

    return make


@pytest.fixture
def make_order(flow, people):
    from crm.workorders.services import create_work_order

    def make(title: str = "公积金提取核实", by=None, **kwargs):
        return create_work_order(
            title=title, workflow=flow.workflow, by=by or people.clerk, **kwargs
        )

    return make
