"""incident-svc: personal-data breach response, from the affected list to proof of dispatch."""

__version__ = "0.1.0"
