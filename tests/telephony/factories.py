"""Factories for telephony configuration objects."""

import factory

from telephony import models as m


class AgentGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.AgentGroup

    name = factory.Sequence(lambda n: f"组{n}")


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Agent

    employee_number = factory.Sequence(lambda n: f"{2000 + n}")
    extension = factory.Sequence(lambda n: f"{5000 + n}")
    name = factory.Sequence(lambda n: f"坐席{n}")


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Queue

    code = factory.Sequence(lambda n: f"queue{n}")
    name = factory.Sequence(lambda n: f"队列{n}")
    group = factory.SubFactory(AgentGroupFactory)


class CalendarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.BusinessCalendar

    name = factory.Sequence(lambda n: f"日历{n}")
