"""Incidents (matters) and exactly who is affected: the set-based affected list, its diff
against the last run, and its export.
"""
