"""People and organisations: customer accounts, people, and which systems hold their data."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from incident_svc.domain.enums import (
    EmailStatus,
    Role,
)


class Account(Model):
    """A customer organisation."""

    id = fields.BigIntField(primary_key=True)
    account_ref = fields.CharField(max_length=128, unique=True)
    name = fields.CharField(max_length=256)
    region = fields.CharField(max_length=16)
    holder_email = fields.CharField(max_length=320)
    holder_name = fields.CharField(max_length=256)
    locale = fields.CharField(max_length=35, default="en")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "account"


class Subject(Model):
    """A person whose data the company holds."""

    id = fields.BigIntField(primary_key=True)
    external_ref = fields.CharField(max_length=128, unique=True)
    email = fields.CharField(max_length=320)
    name = fields.CharField(max_length=256)
    locale = fields.CharField(max_length=35, default="en")
    jurisdiction = fields.CharField(max_length=6)
    account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="subjects", null=True, on_delete=fields.RESTRICT
    )
    role = fields.CharEnumField(Role, max_length=32, default=Role.PARTICIPANT)
    marketing_opt_out = fields.BooleanField(default=False)
    timezone = fields.CharField(max_length=64, default="UTC")
    email_status = fields.CharEnumField(EmailStatus, max_length=16, default=EmailStatus.OK)
    left_at = fields.DatetimeField(null=True)  # `subject leave`: no longer in the inventory
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "subject"
        indexes = (Index(fields=("account_id",)), Index(fields=("jurisdiction",)))


class Holding(Model):
    """One system holding one category of one subject's data."""

    id = fields.BigIntField(primary_key=True)
    subject: fields.ForeignKeyRelation[Subject] = fields.ForeignKeyField(
        "models.Subject", related_name="holdings", on_delete=fields.CASCADE
    )
    system = fields.CharField(max_length=128)
    category = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "holding"
        unique_together = (("subject_id", "system", "category"),)
        indexes = (Index(fields=("system", "category", "subject_id")),)
