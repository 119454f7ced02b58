-- An alert whose evidence a later reversal undid (issue 19): kept, with a note.
--
-- A reversal (冲正) of a settlement an alert cites does not withdraw the alert: the alert
-- records what the supervisor saw, and a settlement reversed after it was flagged is itself
-- worth a reviewer's look; a deduction against it is refused by clearing anyway (a reversed
-- settlement cannot be deducted). The supervision worker appends the reversed setl_id here
-- (idempotent: only once, so a replay or a redelivery leaves the same row), and `yidi
-- supervision alerts|report` show it. The topic's alert records stay as they were raised.
ALTER TABLE alerts ADD COLUMN reversed_setl_ids text[] NOT NULL DEFAULT '{}';
