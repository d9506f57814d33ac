"""Outgoing mail: MIME assembly, DKIM signing."""
