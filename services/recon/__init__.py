"""Hospital reconciliation (对账): 3201 totals and 3202 details against the ledger."""
