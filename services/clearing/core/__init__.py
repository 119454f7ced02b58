"""The clearing core: pure netting and prepayment rules over integer fen."""
