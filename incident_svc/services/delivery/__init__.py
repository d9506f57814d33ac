"""Campaigns and delivery: create, approve (four-eyes over a frozen snapshot), start, and send
through the dispatcher with leases, group commits and proof of dispatch; the ledger and the
per-person notice history read what was sent.
"""
