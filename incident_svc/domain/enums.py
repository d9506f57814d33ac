"""Every status, severity and vocabulary value of the product, in one place."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class IncidentStatus(StrEnum):
    INVESTIGATING = "investigating"
    CONFIRMED = "confirmed"
    NOTIFYING = "notifying"
    CLOSED = "closed"
    DISMISSED = "dismissed"


class Role(StrEnum):
    PARTICIPANT = "participant"
    ACCOUNT_HOLDER = "account_holder"
    BILLING_CONTACT = "billing_contact"
    VISITOR = "visitor"


class EmailStatus(StrEnum):
    OK = "ok"
    BOUNCED = "bounced"


class DataCategory(StrEnum):
    """Kinds of personal data the privacy policy says we hold (shared/seed)."""

    CONTACT = "contact"  # name, company, address, phone, email, title, department
    BILLING_ADDRESS = "billing_address"  # billing name and address
    PAYMENT_CARD = "payment_card"  # credit-card numbers
    USAGE_DATA = "usage_data"  # timestamps, pages used, collected automatically
    DEVICE_DATA = "device_data"  # IP address, browser, operating system
    CALL_DETAIL_RECORDS = "call_detail_records"
    COOKIES = "cookies"
    CREDENTIALS = "credentials"  # passwords, API keys, session tokens
    COMMUNICATIONS = "communications"  # content of messages, support tickets
    # tested by notification laws (domain/compliance); the meaning is the one the laws use
    SSN = "ssn"  # US Social Security or taxpayer (ITIN) number
    DRIVERS_LICENCE = "drivers_licence"  # driver's licence or state ID card number
    GOVERNMENT_ID = "government_id"  # passport, national ID or other government-issued number
    FINANCIAL_ACCOUNT = (
        "financial_account"  # bank or financial account number (with or without code)
    )
    HEALTH = "health"  # medical, health-insurance or other health information (incl. PHI)
    BIOMETRIC = "biometric"  # fingerprints, face or voice templates used to identify a person


class ExposureSource(StrEnum):
    HOLDING = "holding"  # matched by the incident's systems and categories
    INCLUDE_LIST = "include_list"  # named by an operator's --include file


class MatterKind(StrEnum):
    """What a notice is about."""

    INCIDENT = "incident"
    POLICY_CHANGE = "policy_change"
    DISCLOSURE = "disclosure"


class NoticeKind(StrEnum):
    SUBJECT_NOTICE = "subject_notice"
    ACCOUNT_HOLDER_NOTICE = "account_holder_notice"
    BANNER = "banner"
    UPDATE_NOTICE = "update_notice"  # what is new, for people already told
    # notices of other matters (services.delivery.matter_campaigns)
    POLICY_CHANGE_NOTICE = "policy_change_notice"  # a material policy change, to each person
    POLICY_HOLDER_NOTICE = "policy_holder_notice"  # the same, to each account holder
    DISCLOSURE_NOTICE = "disclosure_notice"  # a released disclosure, to each disclosed person


class Channel(StrEnum):
    EMAIL = "email"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # claimed under a lease
    SENT = "sent"  # the server accepted it: proof of dispatch stored
    FAILED = "failed"  # permanently refused or out of attempts
    CANCELLED = "cancelled"


class NoticeOutcome(StrEnum):
    """How a notice ended for its reader (docs/incidents.md, "Notice history").

    ``delivery.outcome`` holds what happened after dispatch (bounce and complaint reports,
    substitute notice); while it is empty the outcome follows ``delivery.status``
    (``domain.notice_history.outcome``).
    """

    ACCEPTED = "accepted"  # the receiving server accepted it
    BOUNCED = "bounced"  # a permanent failure reported after acceptance
    COMPLAINED = "complained"  # the reader reported it as abuse (it did reach them)
    FAILED = "failed"  # refused or out of attempts: never accepted
    SUBSTITUTED = "substituted"  # not reached by email: substitute notice (banner) instead
    PENDING = "pending"  # not sent yet
    CANCELLED = "cancelled"  # never sent: its campaign was cancelled


class AudienceRule(StrEnum):
    """Whom a campaign is for, among the incident's current affected list."""

    ALL = "all"  # everyone on the list
    NEW = "new"  # never sent this kind (none pending, accepted or tried)
    NOT_REACHED = "not-reached"  # tried with this kind: accepted nowhere, or bounced
    TOLD = "told"  # accepted a notice about this incident before (update_notice's default)


class DeliveryOutcome(StrEnum):
    """What became of a message after the relay accepted it (reports that came back).

    Kept beside the delivery's status, never instead of it: ``sent`` stays the proof of
    dispatch. The order is the precedence: a later, weaker report never replaces a stronger.
    """

    DELAYED = "delayed"  # 4.x.x: the receiving side is still trying
    COMPLAINED = "complained"  # an abuse report (ARF): it arrived, the reader flagged it
    BOUNCED = "bounced"  # 5.x.x: it never reached the person


class ReportKind(StrEnum):
    DSN = "dsn"  # RFC 3464 multipart/report; report-type=delivery-status
    ARF = "arf"  # RFC 5965 multipart/report; report-type=feedback-report
    DETECTED = "detected"  # a non-standard bounce recognised by flufl.bounce


class AttemptOutcome(StrEnum):
    ACCEPTED = "accepted"
    TRANSIENT = "transient"
    PERMANENT = "permanent"


class BannerAudience(StrEnum):
    PUBLIC = "public"
    AFFECTED_ACCOUNTS = "affected_accounts"
    AFFECTED_SUBJECTS = "affected_subjects"


class BannerSeverity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class WakeupAction(StrEnum):
    """What the service's scheduler does when an alarm taken from the database goes off."""

    START_CAMPAIGNS = "start_campaigns"  # a campaign's scheduled time (or hold expiry) came
    SEND_REMINDERS = "send_reminders"  # a reminder of an obligation's due time is due
    DISCLOSURES = "disclosures"  # a non-disclosure period ended, or a hold review is due
