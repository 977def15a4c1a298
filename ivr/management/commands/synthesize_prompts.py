"""Synthesize the prompt sets (and text prompt items of published flows) to var/prompts/."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ivr import models as m
from ivr import services
from ivr_scripts.synthesis import (
    PromptSet,
    SynthesisError,
    missing_tools,
    synthesize_free_text,
    synthesize_prompt_set,
)


def _texts(value) -> list[str]:
    """Every ``{"text": ...}`` prompt item in a flow definition."""
    found = []
    if isinstance(value, dict):
        if set(value) == {"text"} and isinstance(value["text"], str):
            return [value["text"]]
        for item in value.values():
            found += _texts(item)
    elif isinstance(value, list):
        for item in value:
            found += _texts(item)
    return found


class Command(BaseCommand):
    help = "Produce 8 kHz mono WAV prompts with espeak-ng and sox (Asterisk sounds for English)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--language", action="append", choices=["zh", "en"])
        parser.add_argument("--prompt", action="append", help="only these prompt ids")
        parser.add_argument("--output", type=Path, default=None)
        parser.add_argument("--force", action="store_true", help="redo existing files")

    def handle(self, *args, language, prompt, output, force, **options) -> None:
        missing = missing_tools()
        if missing:
            raise CommandError(f"install {', '.join(missing)} first (Debian: apt-get install)")
        root = output or services.prompt_root()
        languages = language or ["zh", "en"]
        try:
            for code in languages:
                written = synthesize_prompt_set(PromptSet.load(code), root, prompt, force)
                self.stdout.write(f"{code}: {len(written)} prompt(s) written to {root / code}")
            if prompt is None:
                for version in m.FlowVersion.objects.order_by("flow_id", "-number"):
                    for text in _texts(version.definition.get("nodes", {})):
                        for code in languages:
                            synthesize_free_text(text, code, root, force)
        except SynthesisError as error:
            raise CommandError(str(error)) from error
