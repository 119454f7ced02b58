"""Ops failures as types: the CLI maps them to exit codes and messages without parsing text."""

from __future__ import annotations


class OpsError(Exception):
    """Root of every ops refusal; ``message`` is safe to print (no personal data)."""

    code = "E_OPS"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadArgument(OpsError):
    """An operator's argument (a position, a time, a period) does not parse."""

    code = "E_OPS_ARGUMENT"


class NotFound(OpsError):
    """No DLQ record at the given position (compacted away, or never written)."""

    code = "E_OPS_NOT_FOUND"


class NotRedrivable(OpsError):
    """The DLQ record cannot be sent back as it was (no body, or its source is the DLQ)."""

    code = "E_OPS_NOT_REDRIVABLE"


class OriginalGone(NotRedrivable):
    """A DLQ record kept its original by reference, and the source log no longer holds it
    (retention deleted it): there is nothing to send back."""

    code = "E_OPS_ORIGINAL_GONE"


class OriginalChanged(NotRedrivable):
    """The record now at the source position is not the one that was dead-lettered (its
    SHA-256 differs): sending it would redrive something else."""

    code = "E_OPS_ORIGINAL_CHANGED"


class DigestError(OpsError):
    """The rows cannot be digested canonically (out of order, an unsupported value type)."""

    code = "E_OPS_DIGEST"


class RetentionGap(OpsError):
    """The log no longer holds the start of the range: a replay would be silently partial."""

    code = "E_OPS_RETENTION"

    def __init__(self, topic: str, partition: int, wanted: int, earliest: int) -> None:
        super().__init__(
            f"{topic}[{partition}] starts at offset {earliest} (retention), the range needs "
            f"{wanted}: refusing a partial replay"
        )
        self.topic, self.partition, self.wanted, self.earliest = topic, partition, wanted, earliest


class GroupActive(OpsError):
    """A replay would move or race a consumer group that still has live members."""

    code = "E_OPS_GROUP_ACTIVE"


class Stalled(OpsError):
    """The broker stopped returning records before the range's end (down, or the log gone)."""

    code = "E_OPS_STALLED"


class WorkerFailed(OpsError):
    """A rebuild worker process stopped before its partitions were landed; what it landed
    stays (positions with the rows): running the rebuild again continues."""

    code = "E_OPS_WORKER"
