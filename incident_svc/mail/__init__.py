"""Mail adapters: MIME assembly, DKIM signing, the SMTP connection pool, the development sink."""
