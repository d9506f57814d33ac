"""Use cases: each public function is one verb that changes or reads state.

Every function that changes state writes its change and its audit event in one transaction
(``async with write_transaction() as conn: ...; await audit.record(conn, ...)``).
"""
