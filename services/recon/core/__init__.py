"""The reconciliation rules, pure: totals comparison, the detail merge of two setl_id-ordered
streams with a verdict and memo per unbalanced row, and the answers built from them."""
