"""Refresh and compile every translation catalogue: `make messages`.

Each Django app keeps its own catalogue in `<app>/locale/` (the project-wide one in `locale/`
holds the strings of config/, templates/ and the apps without one). makemessages only
collects from the current directory, so this runs it once per catalogue, with Django set up
first: started from inside an app, `rules.py` would otherwise shadow the rules package.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

IGNORE = [".venv/*", "var/*", "node_modules/*", "static/vendor/*", "frontend/*"]


def main() -> int:
    import django
    from django.core.management import call_command

    django.setup()
    app_dirs = sorted(
        path.parent.parent
        for path in ROOT.rglob("locale/zh_Hans")
        if ".venv" not in path.parts and path.parent.parent != ROOT
    )
    owned = [str(d.relative_to(ROOT)) + "/*" for d in app_dirs]
    targets = [(ROOT, owned)] + [(d, []) for d in app_dirs]
    only = {(ROOT / name).resolve() for name in sys.argv[1:]}
    if only:  # `scripts/messages.py crm/customers` refreshes just those catalogues
        targets = [(d, ignore) for d, ignore in targets if d.resolve() in only]
    for directory, extra_ignore in targets:
        os.chdir(directory)
        call_command(
            "makemessages",
            locale=["zh_Hans", "en"],
            ignore_patterns=IGNORE + extra_ignore,
            verbosity=0,
        )
        call_command("compilemessages", ignore_patterns=IGNORE, verbosity=0)
        print(f"catalogue refreshed: {directory.relative_to(ROOT) or '.'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
