"""The tamper-evident audit log: append events in the caller's transaction, verify the chain,
witness its end with signed checkpoints, and resolve the HMAC key.
"""
