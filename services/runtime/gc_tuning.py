"""The cycle collector's settings for a long-running worker.

Why: a processor allocates tens of short-lived containers per record (decoded messages,
fee lines, outputs), nearly all freed by reference counting. At CPython's default
threshold (700 allocations) the cycle collector ran every few records and kept walking
the same young objects and the long-lived state: ``yidi bench task`` measured 25-40 %
of the task's CPU in it. After start-up everything built so far (modules, reference
data, compiled validators) is frozen out of the collector's view, and a young
generation collection runs every 100,000 net allocations instead. Cycles are still
collected (a failed record's traceback is one); only less often.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 100_000
OLDER_THRESHOLDS = (50, 50)


def tune_gc() -> None:
    """Freeze what start-up built and raise the collection thresholds (idempotent)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
