"""Factories for customers and custom fields."""

import factory

from crm.customers import models as m


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Customer

    name = factory.Sequence(lambda n: f"客户{n}")


class CustomerPhoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.CustomerPhone

    customer = factory.SubFactory(CustomerFactory)
    number = factory.Sequence(lambda n: f"+86139{n:08d}")


class CodeTableFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.CodeTable

    key = factory.Sequence(lambda n: f"table{n}")
    name = factory.Sequence(lambda n: f"代码表{n}")


class FieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.CustomFieldDefinition

    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.Sequence(lambda n: f"字段{n}")
