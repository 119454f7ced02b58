"""Why an incoming message was refused: a small tree of typed errors with stable codes.

The code is the contract with senders: it reaches the hospital's ack and the
DLQ record unchanged, and hospitals' test suites match on it. Messages never
contain personal data (the codec passes field paths, never field values, for
personal fields).
"""

from __future__ import annotations


class DecodeError(Exception):
    """The message cannot be accepted as sent. Not retryable: DLQ it and ack the sender."""

    code = "E_DECODE"
    authentic_sender: str | None = None
    """Set when the MAC verified before the failure: that sender gets an error ack."""

    def __init__(self, message: str, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "field": self.field, "message": self.message}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, field={self.field!r}, message={self.message!r})"


class MalformedMessage(DecodeError):
    """Bytes that are not UTF-8 JSON of the right shape (truncated, wrong types, …)."""

    code = "E_MALFORMED"


class EnvelopeError(DecodeError):
    """A required CloudEvents header is missing or invalid."""

    code = "E_HEADER"


class UnknownType(DecodeError):
    code = "E_UNKNOWN_TYPE"


class UnsupportedVersion(DecodeError):
    """A major version this processor does not know: never guessed (see docs/contracts.md)."""

    code = "E_VERSION"


class InvalidMessage(DecodeError):
    """Well-formed JSON that breaks the contract: codes, amounts, identities, bounds."""

    code = "E_INVALID"


class AuthenticationError(DecodeError):
    """The sender could not be authenticated; no ack is sent (we do not know whom to tell)."""

    code = "E_AUTH"


class IdentityMismatch(DecodeError):
    """Authentic MAC, but the body speaks for someone else than the key's owner."""

    code = "E_IDENTITY"


class KeyMismatch(DecodeError):
    """The Kafka record key is not the one the body implies (it would break co-partitioning)."""

    code = "E_KEY"


class KeyMissing(KeyMismatch):
    """A record without a key on a keyed topic: it lands on an arbitrary partition, so the
    person's (or institution's) messages would split across tasks."""

    code = "E_KEY_MISSING"


class WrongTopic(DecodeError):
    """A message type (or a sender) the topic does not carry (``events.catalog``: ``accepts``):
    valid elsewhere, never applied here."""

    code = "E_WRONG_TOPIC"
