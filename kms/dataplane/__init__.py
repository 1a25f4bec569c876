"""The data plane: encrypt, decrypt, sign, verify, datakey and rewrap on the hot path.

Same rules (kms.rules, kms.access.OPERATION_PERMISSION), same crypto (kms.keyring),
same JSON contract as the DRF views — but plain Django views, hand-written SQL,
state cached per process and dropped when the state generation moves, and audit
events appended to a per-node spool shipped into the chained audit table.
See docs/benchmarks.md for what each of these bought, and docs/dataplane.md for
the consistency window and the audit spool's durability.
"""
