"""Checks on uploaded attachments, shared by the knowledge base and work orders.

A browser's declared content type is whatever the client says, so the file's extension and
its first bytes are checked as well: a renamed executable does not pass as a PDF.
"""

from __future__ import annotations

from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

# content type -> (extensions, accepted leading bytes; empty means "text, must be UTF-8")
ATTACHMENT_TYPES: dict[str, tuple[frozenset[str], tuple[bytes, ...]]] = {
    "application/pdf": (frozenset({".pdf"}), (b"%PDF-",)),
    "image/png": (frozenset({".png"}), (b"\x89PNG\r\n\x1a\n",)),
    "image/jpeg": (frozenset({".jpg", ".jpeg"}), (b"\xff\xd8\xff",)),
    "image/gif": (frozenset({".gif"}), (b"GIF87a", b"GIF89a")),
    "text/plain": (frozenset({".txt", ".csv", ".md"}), ()),
    # Office Open XML documents are ZIP containers.
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
        frozenset({".docx"}),
        (b"PK\x03\x04",),
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (
        frozenset({".xlsx"}),
        (b"PK\x03\x04",),
    ),
}

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


def _looks_like_utf8_text(head: bytes, sample_size: int = 4096) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # The sample may end in the middle of a multibyte character.
        return len(head) >= sample_size and error.start >= len(head) - 3
    return True


def detect_content_type(name: str, head: bytes) -> str | None:
    """The allowed content type matching the file name's extension and leading bytes."""
    extension = PurePath(name).suffix.lower()
    for content_type, (extensions, signatures) in ATTACHMENT_TYPES.items():
        if extension not in extensions:
            continue
        if signatures:
            if any(head.startswith(signature) for signature in signatures):
                return content_type
            continue
        if not _looks_like_utf8_text(head):
            continue
        return content_type
    return None


@deconstructible
class AttachmentValidator:
    """Refuses files larger than the limit or whose type is not in ATTACHMENT_TYPES.

    Without `max_bytes` the limit is the CRM_ATTACHMENT_MAX_BYTES setting (10 MB by default),
    read at each call so a deployment can change it without a migration.
    """

    def __init__(self, max_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes

    def limit(self) -> int:
        if self.max_bytes is not None:
            return self.max_bytes
        return int(getattr(settings, "CRM_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))

    def __call__(self, file) -> None:
        limit = self.limit()
        if file.size > limit:
            raise ValidationError(
                _("The file is too large (%(size)s); the limit is %(limit)s."),
                code="file_too_large",
                params={
                    "size": filesizeformat(file.size),
                    "limit": filesizeformat(limit),
                },
            )
        position = file.tell() if hasattr(file, "tell") else 0
        file.seek(0)
        head = file.read(4096)
        file.seek(position)
        if detect_content_type(file.name, head) is None:
            raise ValidationError(
                _("This type of file is not accepted. Allowed: PDF, images, text, Word, Excel."),
                code="file_type_not_allowed",
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AttachmentValidator) and other.max_bytes == self.max_bytes
