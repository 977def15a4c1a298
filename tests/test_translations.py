"""zh-Hans and English ship complete: every message has a translation and the .mo is current."""

from pathlib import Path

import polib
import pytest

LOCALE = Path(__file__).resolve().parent.parent / "locale"


@pytest.mark.parametrize("language", ["zh_Hans", "en"])
def test_catalogue_is_complete_and_compiled(language):
    po_path = LOCALE / language / "LC_MESSAGES" / "django.po"
    po = polib.pofile(str(po_path))
    if language == "zh_Hans":
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
    assert stale == [], f"{language} .mo is older than .po; run `make messages`: {stale[:5]}"
