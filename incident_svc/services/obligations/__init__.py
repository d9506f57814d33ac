"""Obligations of incidents: the rules in force, the facts recorded, what was met or declined.

Modules: ``residence`` (set-based counts over exposures), ``facts`` (record clock starts and
flags), ``records`` (met and declined), ``compute`` (gather and run the engine), ``export``
(write the list to a file), ``reminders`` and ``obligation_countdowns`` (what `serve` tells
the team), ``reports`` and ``report_facts`` (drafts for regulators), ``register`` (the breach
register). The rules files are read by ``incident_svc.compliance_rules``.
"""
