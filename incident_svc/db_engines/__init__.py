"""Tortoise engines of our own (selected by incident_svc.db.tortoise_config)."""
