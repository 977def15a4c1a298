"""Load the shipped flows (ivr_scripts/flows/*.json) into the database as new versions."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ivr import services


class Command(BaseCommand):
    help = "Load ivr_scripts/flows/*.json as new flow versions when they changed."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--directory", type=Path, default=services.FLOWS_DIR)

    def handle(self, *args, directory: Path, **options) -> None:
        try:
            results = services.load_flow_files(directory)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        for code, number, created in results:
            state = "loaded" if created else "unchanged"
            self.stdout.write(f"{code}: version {number} {state}")
