"""Publish everything the CTI daemon reads from Redis: `manage.py publish_config`.

Django publishes on every committed change; this republishes the lot after Redis lost its data
(a restart without persistence, a flush, a new Redis): the telephony configuration snapshot,
the IVR flows and emergency notices, and the customers' routing cards. `make run` and
`make demo` run it before starting the daemon.
"""

from django.core.management.base import BaseCommand

from crm.customers.routing import publish_all_customer_cards
from ivr.snapshot import publish_flow_snapshot
from telephony.snapshot import publish_snapshot


class Command(BaseCommand):
    help = "Publish the telephony configuration, IVR flows and customer cards to Redis."

    def handle(self, *args, **options) -> None:
        version = publish_snapshot()
        flows = publish_flow_snapshot()
        cards = publish_all_customer_cards()
        self.stdout.write(
            f"configuration version {version}, IVR flows version {flows}, {cards} customer cards"
        )
