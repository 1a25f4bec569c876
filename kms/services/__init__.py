"""Every operation of Egide, once. Adapters (API, pages, admin, CLI, commands) call these.

A service: looks up the key, checks permission, (approval,) state, does the
crypto, writes the audit event in the change's transaction, returns a plain
result, and raises typed errors (kms.exceptions) that each adapter renders.
"""
