"""zh-Hans and English ship complete: every message has a translation and the .mo is current.

Every Django app may keep its own catalogue in `<app>/locale/`; all of them are checked.
"""

from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = sorted(
    path
    for path in ROOT.rglob("locale/*/LC_MESSAGES/django.po")
    if ".venv" not in path.parts and "var" not in path.parts
)


def test_there_are_catalogues_for_both_languages():
    languages = {path.parent.parent.name for path in CATALOGUES}
    assert {"zh_Hans", "en"} <= languages


@pytest.mark.parametrize("po_path", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_catalogue_is_complete_and_compiled(po_path):
    po = polib.pofile(str(po_path))
    if po_path.parent.parent.name == "zh_Hans":
        untranslated = [e.msgid for e in po.untranslated_entries()]
        assert untranslated == [], f"untranslated zh_Hans messages: {untranslated}"
    assert [e.msgid for e in po.fuzzy_entries()] == []
    compiled = polib.mofile(str(po_path.with_suffix(".mo")))
    compiled_map = {(e.msgctxt, e.msgid): e.msgstr for e in compiled}
    stale = [
        e.msgid
        for e in po.translated_entries()
        if compiled_map.get((e.msgctxt, e.msgid)) != e.msgstr
    ]
    assert stale == [], f"{po_path} .mo is older than .po; run `make messages`: {stale[:5]}"
