"""Demo data so a newcomer can sign in and see a working center: `make setup` runs it."""

import datetime as dt

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.choices import Role
from accounts.models import User
from accounts.services import create_user, set_user_roles
from telephony import models as m

DEMO_PASSWORD = "demo1234"
AGENT_NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强"]


class Command(BaseCommand):
    help = "Create demo users, agents, groups, queues, a DID and a calendar (idempotent)."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            created = self._seed()
        if created:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo data created. Sign in as admin, supervisor, backoffice or "
                    f"agent1001..agent1008 with the password {DEMO_PASSWORD!r}."
                )
            )
        else:
            self.stdout.write("Demo data already present.")

    def _user(self, username: str, roles: list[str], **fields) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = create_user(username, DEMO_PASSWORD, roles, **fields)
        else:
            set_user_roles(user, roles)
        return user

    def _seed(self) -> bool:
        if m.Agent.objects.filter(employee_number="1001").exists():
            return False
        admin = self._user("admin", [Role.ADMIN], is_superuser=True, first_name="管理员")
        supervisor = self._user("supervisor", [Role.SUPERVISOR, Role.AGENT], first_name="班长")
        self._user("backoffice", [Role.BACKOFFICE], first_name="后台")
        del admin

        housing, _ = m.Skill.objects.get_or_create(
            code="housing_fund", defaults={"name": "公积金业务"}
        )
        english, _ = m.Skill.objects.get_or_create(code="english", defaults={"name": "英语"})
        loans, _ = m.Skill.objects.get_or_create(code="loans", defaults={"name": "贷款业务"})

        hotline, _ = m.AgentGroup.objects.get_or_create(name="热线一组")
        loan_group, _ = m.AgentGroup.objects.get_or_create(
            name="贷款业务组", defaults={"kind": "skill"}
        )
        hotline.supervisors.add(supervisor)
        loan_group.supervisors.add(supervisor)
        for index, name in enumerate(AGENT_NAMES, start=1):
            number = f"{1000 + index}"
            user = self._user(f"agent{number}", [Role.AGENT], first_name=name)
            agent = m.Agent.objects.create(
                employee_number=number, name=name, user=user, extension=number
            )
            m.GroupMembership.objects.create(
                agent=agent, group=hotline, level=1 + (index - 1) // 4, position=index
            )
            m.AgentSkill.objects.create(agent=agent, skill=housing, level=5)
            if index % 2 == 0:
                m.GroupMembership.objects.create(agent=agent, group=loan_group, position=index)
                m.AgentSkill.objects.create(agent=agent, skill=loans, level=5 + index % 5)
            if index <= 3:
                m.AgentSkill.objects.create(agent=agent, skill=english, level=6)

        calendar, _ = m.BusinessCalendar.objects.get_or_create(name="工作日 8:30-17:30")
        for weekday in range(5):
            m.BusinessHours.objects.create(
                calendar=calendar,
                weekday=weekday,
                start_time=dt.time(8, 30),
                end_time=dt.time(12, 0),
            )
            m.BusinessHours.objects.create(
                calendar=calendar,
                weekday=weekday,
                start_time=dt.time(13, 0),
                end_time=dt.time(17, 30),
            )
        m.Holiday.objects.create(
            calendar=calendar,
            name="元旦",
            start_date=dt.date(2027, 1, 1),
            end_date=dt.date(2027, 1, 1),
        )
        m.Holiday.objects.create(
            calendar=calendar,
            name="春节",
            start_date=dt.date(2027, 2, 5),
            end_date=dt.date(2027, 2, 11),
        )

        # The shipped 12329 flow queues callers who press 0 in "hotline_12329".
        general = m.Queue.objects.create(code="hotline_12329", name="公积金热线", group=hotline)
        loan_queue = m.Queue.objects.create(
            code="loans",
            name="贷款咨询",
            group=loan_group,
            strategy="fewest_calls",
            overflow_kind="queue",
            overflow_queue=general,
            max_wait_seconds=120,
        )
        m.QueueSkill.objects.create(queue=loan_queue, skill=loans, min_level=5)
        m.DID.objects.create(
            number="12329", name="住房公积金热线", flow="hotline_12329", calendar=calendar
        )
        # Open around the clock (no calendar), so `make demo` has traffic reaching agents at
        # any hour; 12329 itself keeps business hours and sends callers to voicemail outside.
        m.DID.objects.create(number="95000", name="演示专线（全天）", flow="hotline_12329")
        m.DID.objects.create(
            number="4008001234",
            name="English line",
            flow="hotline_12329",
            language="en",
            calendar=calendar,
        )
        return True
