"""Adapters that establish who is acting: the database session, the OS account, OpenSSH."""
