"""Obligations of incidents: the rules in force, the facts recorded, what was met or declined.

Modules: ``rules_source`` (read the shipped and operator rules), ``residence`` (set-based
counts over exposures), ``facts`` (record clock starts and flags), ``records`` (met and
declined), ``compute`` (gather and run the engine), ``export`` (write the list to a file).
"""
