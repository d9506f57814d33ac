"""The `incident-svc serve` process: scheduler, dispatcher workers and HTTP in one loop."""
