"""Mail adapters: the SMTP connection pool and the development mail sink."""
