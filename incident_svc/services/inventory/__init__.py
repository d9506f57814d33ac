"""Importing the inventory: accounts, subjects and the holdings of their data.

``reader`` turns a CSV or JSON Lines file into numbered rows, ``validation`` checks them
(in worker processes for large files), ``staging`` holds them in a temporary table where the
checks that need the whole file or the database run as SQL, and ``importer`` ties it together
in one transaction with its audit event.
"""
