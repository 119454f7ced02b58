"""Why a reconciliation request is refused after it decoded, as codes the hospital's ack carries.

These are conflicts with what the same hospital sent before (a reused ``msgid``, parts of
one batch that disagree), not malformed input: the codec has already accepted the bytes.
"""

from __future__ import annotations

from typing import ClassVar


class ReconRefused(Exception):
    """A request refused with a stable ``code`` (the ack's error code) and the field it is about.
    Nothing of the request is kept: the hospital may correct it and send it again."""

    code: ClassVar[str] = "E_RECON"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class MsgidReused(ReconRefused):
    """The ``msgid`` arrived before with a different body: a msgid names one message."""

    code: ClassVar[str] = "E_RECON_MSGID_REUSED"


class BatchMismatch(ReconRefused):
    """A part's slice or ``part_cnt`` differs from the batch's first part."""

    code: ClassVar[str] = "E_RECON_BATCH_MISMATCH"


class PartTwice(ReconRefused):
    """This ``part_no`` of the batch already came under another ``msgid``."""

    code: ClassVar[str] = "E_RECON_PART_TWICE"


class RowInTwoParts(ReconRefused):
    """A ``setl_id`` of this part is already in another part of the batch."""

    code: ClassVar[str] = "E_RECON_ROW_TWICE"


class UnorderedStream(RuntimeError):
    """A side of the detail merge was not strictly increasing by ``setl_id``: an adapter bug
    (e.g. a collation other than byte order). Fail loudly rather than answer wrongly."""
