"""Campaigns of matters other than incidents: a material policy change (to every person who
was one when it was published, and to every account holder) and a released disclosure (to
the people whose data was disclosed).

They go through the incident campaigns' machinery unchanged (approval snapshot, four-eyes,
outbox, dispatcher, ledger, audit); what differs is here: who they are for (``audience``),
what the approval binds about the matter (``facts``), how a notice is composed
(``composer``), the content checks (``checks``) and how they are made (``create``).
"""
