"""Clearing's service layer: plain async functions over the ``ports.ClearingUnitOfWork``.

Each function is one use case (land a batch, close, confirm, settle, size a prepayment);
it says in its docstring what it needs of the unit of work. No SQL, no Kafka here."""
