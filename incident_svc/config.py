"""Typed, immutable settings.

Read in this order, each overriding the one before:

1. ``config/default.toml`` shipped with the package (every key documented there);
2. an optional operator file (``--config FILE`` or ``INCIDENT_SVC_CONFIG``);
3. ``INCIDENT_SVC_*`` environment variables; nested keys use a double underscore
   (``INCIDENT_SVC_SMTP__HOST``), lists are JSON (``'["https://a.example"]'``).

Nothing is read at import time: call :func:`load_settings`.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import (
    Field,
    FilePath,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from incident_svc.config_bounces import BounceSettings
from incident_svc.config_section import Section as _Section
from incident_svc.config_sources import ENV_PREFIX as ENV_PREFIX
from incident_svc.config_sources import record_sources
from incident_svc.domain.codes import EU_MEMBER_STATES, normalise_timezone
from incident_svc.errors import ConfigError
from incident_svc.resources import default_config_file

_SECTOR = re.compile(r"[a-z][a-z0-9_]{0,63}")


class OrgSettings(_Section):
    name: str = "Example Ltd"
    contact_email: str = "privacy@example.com"
    contact_phone: str = ""
    website_url: str = "https://www.example.com"
    postal_address: str = ""


class SmtpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8025, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = False
    tls: bool = False
    ca_file: FilePath | None = None  # PEM CA(s) the relay's certificate must chain to
    timeout: float = Field(default=30.0, gt=0)
    pool_size: int = Field(default=4, ge=1, le=256)
    rate_limit: float = Field(default=0.0, ge=0)  # messages per second over the pool; 0: none
    local_hostname: str | None = None

    @model_validator(mode="after")
    def _one_tls_mode(self) -> SmtpSettings:
        if self.starttls and self.tls:
            raise ValueError("starttls and tls exclude each other: pick one")
        return self


class ApprovalSettings(_Section):
    required: bool = True
    mode: Literal["identity", "signed"] = "identity"
    allowed_signers: Path | None = None  # OpenSSH allowed_signers file; signed mode needs it

    @model_validator(mode="after")
    def _signed_needs_signers(self) -> ApprovalSettings:
        if self.mode == "signed" and self.allowed_signers is None:
            raise ValueError(
                'mode "signed" needs allowed_signers (an OpenSSH allowed_signers file)'
            )
        return self


class AuditSettings(_Section):
    hmac_key: SecretStr | None = None
    key_file: Path | None = None  # default: <var_dir>/audit-hmac.key
    allow_unkeyed: bool = False
    checkpoint_file: Path | None = None  # default: <var_dir>/audit-checkpoints.jsonl
    checkpoint_to_file: bool = True
    checkpoint_by_email: bool = False
    checkpoint_feed: bool = True
    checkpoint_minutes: float = Field(default=15.0, ge=0)
    checkpoints: list[str] = Field(default_factory=list)  # more witnesses (FILE|URL) to verify


class DisclosureSettings(_Section):
    # days between reminders to confirm that an indefinite non-disclosure still applies
    review_days: float = Field(default=90.0, gt=0)


class RetentionSettings(_Section):
    """How long personal fields are kept (docs/retention.md gives each period's legal reason)."""

    enabled: bool = False  # `serve` runs `retention run` once a day
    key: SecretStr | None = None
    key_file: Path | None = None  # default: <var_dir>/retention-hmac.key
    # rows per batch at most; a batch holding its row locks longer than lock_target_ms halves
    # the next, one under a third of it doubles the next (docs/retention.md)
    batch_size: int = Field(default=20_000, ge=1, le=100_000)
    lock_target_ms: float = Field(default=100.0, gt=0, le=60_000)
    # PostgreSQL: a batch statement still running after this long is cancelled, its batch rolled
    # back (locks released) and done again at half the size; 0 sets no limit
    lock_limit_ms: float = Field(default=150.0, ge=0, le=600_000)
    # PostgreSQL: connections pseudonymising addresses at once, each on its own range of ids
    workers: int = Field(default=2, ge=1, le=8)
    # PostgreSQL: passes over each window of ids, pass k taking the ids with remainder k, so
    # that a transaction writes few rows of each page and their new versions fit beside them
    passes: int = Field(default=5, ge=1, le=20)
    # days after the campaign ended (completed or cancelled); at most a century, so that a
    # cutoff is always a date
    delivery_address_days: int = Field(default=2192, ge=1, le=36_500)  # six years: proof
    recipient_address_days: int = Field(default=2192, ge=1, le=36_500)  # the approved audience
    bounce_report_days: int = Field(default=365, ge=1, le=36_500)  # after it was received
    exposure_days: int = Field(default=2192, ge=1, le=36_500)  # after the incident closed
    former_subject_days: int = Field(default=730, ge=1, le=36_500)  # after `subject leave`


class FeedSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str = "http://127.0.0.1:8080"
    token_secret: SecretStr | None = None
    allowed_origins: list[str] = Field(default_factory=list)
    max_age: int = Field(default=60, ge=0)
    snapshot_seconds: float = Field(default=1.0, gt=0)
    flush_seconds: float = Field(default=5.0, gt=0)
    max_token_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=1)
    token_max_days: int = Field(default=7, ge=1, le=3650)

    @model_validator(mode="after")
    def _ttl_within_lifetime(self) -> FeedSettings:
        if self.max_token_ttl_seconds > self.token_max_days * 86400:
            raise ValueError("max_token_ttl_seconds is longer than token_max_days allows")
        return self


class BannerSettings(_Section):
    personal_on_bounce: bool = False
    bounce_check_seconds: float = Field(default=60.0, gt=0)
    default_locale: str = "en"


class DeliverySettings(_Section):
    max_attempts: int = Field(default=25, ge=1)
    retry_base_seconds: float = Field(default=1800.0, ge=0)
    retry_max_seconds: float = Field(default=14400.0, ge=0)
    batch_size: int = Field(default=100, ge=1)
    lease_seconds: float = Field(default=60.0, gt=0)
    workers: int = Field(default=1, ge=1)
    compose_worker_from: int = Field(default=2000, ge=0)
    # a relay that cannot be reached: probed every relay_probe_seconds, doubling up to the max
    relay_probe_seconds: float = Field(default=5.0, gt=0)
    relay_probe_max_seconds: float = Field(default=60.0, gt=0)
    outage_alert_seconds: float = Field(default=300.0, ge=0)


class DatabaseSettings(_Section):
    fault_tolerance_seconds: float = Field(default=60.0, ge=0)


class SchedulerSettings(_Section):
    poll_seconds: float = Field(default=2.0, gt=0)
    shutdown_grace_seconds: float = Field(default=30.0, ge=0)


class ReminderSettings(_Section):
    regulator_deadline_hours: float = Field(default=72.0, gt=0)
    offsets_hours: list[float] = Field(default_factory=lambda: [24.0, 4.0])
    thresholds_percent: list[float] = Field(default_factory=lambda: [50.0, 75.0, 90.0, 100.0])
    offset_regimes: list[str] = Field(default_factory=lambda: ["GDPR", "UK GDPR"])

    @field_validator("thresholds_percent")
    @classmethod
    def _percents(cls, value: list[float]) -> list[float]:
        for percent in value:
            if not 0 < percent <= 100:
                raise ValueError(f"{percent:g} is not a percentage of the window in (0, 100]")
        return value


class TemplateSettings(_Section):
    render_seconds: float = Field(default=5.0, gt=0, le=600)


class ComplianceSettings(_Section):
    rules_file: Path | None = None  # the operator's rules, added to or replacing the shipped ones
    sectors: list[str] = Field(default_factory=list)  # e.g. ["hipaa_covered", "nis2_entity"]
    timezone: str = "UTC"  # where obligation due times are shown (they are kept in UTC)
    eu_main_establishment: str | None = None  # ISO code of the EU lead authority's state
    evidence_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return normalise_timezone(value)

    @field_validator("eu_main_establishment")
    @classmethod
    def _member_state(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        code = value.strip().upper()
        if code not in EU_MEMBER_STATES:
            raise ValueError(f"{value!r} is not an EU member state code (examples: IE, DE)")
        return code

    @field_validator("sectors")
    @classmethod
    def _sector_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _SECTOR.fullmatch(name):
                raise ValueError(f"{name!r} is not a sector name (lower case, digits, _)")
        return sorted(set(value))


class DkimSettings(_Section):
    domain: str | None = None
    selector: str | None = None
    private_key_file: Path | None = None


class Settings(BaseSettings):
    """Everything the service can be told; see config/default.toml for each key's meaning."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    database_url: str = "sqlite://var/incident-svc.sqlite3"
    templates_dir: Path | None = None
    var_dir: Path = Path("var")
    mail_from: str = "Example Ltd Security <security@example.com>"
    reply_to: str | None = None
    security_team_email: str = "security-team@example.com"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    database: DatabaseSettings = DatabaseSettings()
    org: OrgSettings = OrgSettings()
    smtp: SmtpSettings = SmtpSettings()
    approval: ApprovalSettings = ApprovalSettings()
    audit: AuditSettings = AuditSettings()
    retention: RetentionSettings = RetentionSettings()
    feed: FeedSettings = FeedSettings()
    banners: BannerSettings = BannerSettings()
    bounces: BounceSettings = BounceSettings()
    delivery: DeliverySettings = DeliverySettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    reminders: ReminderSettings = ReminderSettings()
    disclosure: DisclosureSettings = DisclosureSettings()
    dkim: DkimSettings = DkimSettings()
    templates: TemplateSettings = TemplateSettings()
    # what each source said, in the order they win (config_sources.setting_source reads it)
    _sources: list[tuple[str, Mapping[str, Any]]] = PrivateAttr(default_factory=list)
    compliance: ComplianceSettings = ComplianceSettings()


def _settings_reading(files: tuple[Path, ...]) -> type[Settings]:
    """A Settings class whose lowest-priority source is the given TOML files, merged in order."""

    class _FromFiles(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            toml = TomlConfigSettingsSource(settings_cls, toml_file=list(files), deep_merge=True)
            return (init_settings, env_settings, toml)

    return _FromFiles


def load_settings(
    config_file: Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the settings from default.toml, the operator's file, the environment and overrides.

    ``overrides`` (a nested dict) wins over everything; tests use it to build settings
    from a dict.
    """
    if config_file is None and os.environ.get(f"{ENV_PREFIX}CONFIG"):
        config_file = Path(os.environ[f"{ENV_PREFIX}CONFIG"])
    files = [default_config_file()]
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"config file {config_file} does not exist", key="config")
        files.append(config_file)
    for path in files:
        _check_toml_syntax(path)
        _no_file_secrets(path)
    try:
        settings = _settings_reading(tuple(files))(**dict(overrides or {}))
    except pydantic.ValidationError as exc:
        raise _config_error(exc, files) from None
    record_sources(settings, files=files, overrides=overrides, default=default_config_file())
    return settings


def _check_toml_syntax(path: Path) -> None:
    try:
        with path.open("rb") as handle:
            tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", key=None) from None


# secrets that a file must never hold: they come from the environment only
ENV_ONLY_SECRETS = (
    ("bounces", "imap", "password"),
    ("bounces", "webhooks", "postmark", "password"),
    ("bounces", "webhooks", "mailgun", "signing_key"),
)


def _no_file_secrets(path: Path) -> None:
    with path.open("rb") as handle:
        document: Any = tomllib.load(handle)
    for parts in ENV_ONLY_SECRETS:
        node = document
        for part in parts:
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            key = ".".join(parts)
            env_name = ENV_PREFIX + "__".join(parts).upper()
            raise ConfigError(f"{path}: {key} belongs in ${env_name}, not in a file", key=key)


def _config_error(exc: pydantic.ValidationError, files: list[Path]) -> ConfigError:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    value = first.get("input")
    shown = "" if _looks_secret(key) or isinstance(value, dict) else f" (got {value!r})"
    env_name = ENV_PREFIX + key.replace(".", "__").upper()
    where = f"set in {', '.join(str(f) for f in files)} or ${env_name}"
    more = f"; and {len(exc.errors()) - 1} more problem(s)" if len(exc.errors()) > 1 else ""
    return ConfigError(
        f"invalid configuration: {key}: {first['msg']}{shown} [{where}]{more}", key=key
    )


def _looks_secret(key: str) -> bool:
    return any(word in key for word in ("password", "secret", "key"))
