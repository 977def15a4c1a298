"""Write every customer's routing card to Redis (after a restore, or a Redis without data)."""

from django.core.management.base import BaseCommand

from crm.customers.routing import publish_all_customer_cards


class Command(BaseCommand):
    help = "Publish every customer's routing card (owner agent, VIP level) for the CTI daemon."

    def handle(self, *args, **options) -> None:
        count = publish_all_customer_cards()
        self.stdout.write(f"{count} customer cards published")
