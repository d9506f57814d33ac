"""Where bounce and complaint reports come from besides a folder: the IMAP mailbox that
``serve`` polls and the provider webhooks. Both hand each report, as standard report bytes,
to one ingestion function (:data:`ingest_port.Ingest`)."""
