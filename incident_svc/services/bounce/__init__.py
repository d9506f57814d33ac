"""What happens after the relay accepted a message: per-delivery return paths (VERP), reports
ingested from a Maildir, mbox, IMAP or provider webhooks, and substitute notice.
"""
