"""Campaigns that start without a second person's approval, for tests about sending.

A campaign is bound at creation to the approval policy then in force: tests that send a draft
directly create it under :data:`OPEN` and start it with :data:`OFF` settings.
"""

from __future__ import annotations

from incident_svc.config import load_settings
from incident_svc.domain.approval import ApprovalPolicy

OPEN = ApprovalPolicy(required=False, source="given in code")
OFF = load_settings(overrides={"approval": {"required": False}})
