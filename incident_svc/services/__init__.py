"""Use cases: each public function is one verb that changes or reads state.

Every function that changes state writes its change and its audit event in one transaction
(``async with write_transaction() as conn: ...; await audit.record(conn, ...)``).

One package per domain: ``inventory`` (organisations, people, holdings), ``incident`` (incidents
and the affected list), ``delivery`` (campaigns, approval, the dispatcher, the ledger and the
notice history), ``relay`` (the relay's reachability), ``bounce`` (reports after acceptance and
substitute notice), ``website`` (banners), ``obligations`` (legal clocks, reminders, reports,
the register), ``policy_change`` and ``disclosure`` (the policy's other notices), ``privacy``
(retention, access and erasure), ``auditlog`` (the chain and its witnesses) and ``files``
(operator files in and out). ``wakeups`` plans the alarms of `serve` across all of them.
Dependencies between packages point one way (``tools`` in docs/architecture.md).
"""
