"""The content fields a report or notice may be required to carry (union of the rules' lists).

Reports and notice checks (incident report, notice check) read these names from a rule's
``content`` list; each has a one-line meaning here.
"""

from __future__ import annotations

from enum import StrEnum


class ContentField(StrEnum):
    NATURE = "nature"  # what happened
    CATEGORIES = "categories"  # categories of personal data involved
    PEOPLE_COUNT = "people_count"  # (approximate) number of people affected
    RECORDS_COUNT = "records_count"  # (approximate) number of records
    DATES = "dates"  # occurred from/to, discovered, notified
    CONTACT = "contact"  # DPO or contact point
    CONSEQUENCES = "consequences"  # likely consequences
    MEASURES = "measures"  # measures taken or proposed
    PROTECTIVE_STEPS = "protective_steps"  # what people can do themselves
    LAW_ENFORCEMENT_DELAY = "law_enforcement_delay"  # whether notice was delayed for police
    DELAY_REASONS = "delay_reasons"  # why any notice is late
    CREDIT_AGENCIES = "credit_agencies"  # consumer reporting agencies' contacts
    FTC_CONTACT = "ftc_contact"  # the FTC's contact details
    FRAUD_ALERT_FREEZE = "fraud_alert_freeze"  # fraud alerts and (free) credit freezes
    CREDIT_MONITORING = "credit_monitoring"  # credit monitoring offered, and for how long
    POLICE_REPORT_RIGHT = "police_report_right"  # the right to obtain a police report (MA)
    NOTICE_TITLE = "notice_title"  # the title "Notice of Data Breach" (CA)
    CA_HEADINGS = "ca_headings"  # California's five headings
    DATA_USER = "data_user"  # the organisation and its contact person (HK PCPD form)
    SECTOR = "sector"  # the organisation's sector (HK PCPD form)
    SERVICE_PROVIDER = "service_provider"  # whether a service provider was involved
    CAUSE = "cause"  # the cause of the incident
    RISK = "risk"  # the risk of harm to the people
    PEOPLE_TOLD = "people_told"  # whether and when the people were told
    SAMPLE_NOTICE = "sample_notice"  # a copy of the notice sent to the people
    MATERIAL_IMPACT = "material_impact"  # material impact on the registrant (SEC 8-K)
