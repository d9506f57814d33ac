"""Privacy-policy versions, their notices, and each person's effective date from evidence."""
