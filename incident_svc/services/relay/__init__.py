"""The SMTP relay's reachability: its shared state, the probe that watches it during an
outage, and the one alert to the security team.
"""
