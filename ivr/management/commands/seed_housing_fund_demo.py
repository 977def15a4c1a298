"""Seed the 12329 hotline demo: housing-fund accounts with loans (query password 123456)."""

import datetime as dt
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction

from ivr.models import HousingFundAccount, HousingLoan

DEMO_PASSWORD = "123456"
DEMO_ACCOUNTS = [
    ("11010519491231002X", "张伟", "12345.67", []),
    ("440304198001011239", "李娜", "800.00", [("GJJ-2019-0001", "400000", "250000.50", "3210.05")]),
    ("320102199003154560", "王芳", "56000.00", [("GJJ-2021-0420", "600000", "520000", "2890.33"),
                                                 ("GJJ-2023-0077", "100000", "90000", "610.00")]),
]  # fmt: skip


class Command(BaseCommand):
    help = "Create or reset the demo housing-fund accounts the 12329 flow queries."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        today = dt.date.today()
        for index, (id_number, name, balance, loans) in enumerate(DEMO_ACCOUNTS):
            account, _ = HousingFundAccount.objects.get_or_create(
                id_number=id_number, defaults={"name": name, "balance": Decimal(balance)}
            )
            account.name = name
            account.balance = Decimal(balance)
            account.set_query_password(DEMO_PASSWORD)
            account.save()
            account.loans.exclude(contract_number__in=[loan[0] for loan in loans]).delete()
            for offset, (contract, principal, remaining, monthly) in enumerate(loans):
                HousingLoan.objects.update_or_create(
                    contract_number=contract,
                    defaults={
                        "account": account,
                        "principal": Decimal(principal),
                        "remaining_principal": Decimal(remaining),
                        "monthly_payment": Decimal(monthly),
                        "next_due_date": today.replace(day=15)
                        + dt.timedelta(days=31 * (offset + 1) + index),
                    },
                )
        self.stdout.write(f"{len(DEMO_ACCOUNTS)} demo accounts ready (password {DEMO_PASSWORD})")
