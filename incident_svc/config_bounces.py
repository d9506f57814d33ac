"""[bounces]: return paths, the report mailbox `serve` polls, and provider webhooks."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, FilePath, SecretStr, model_validator

from incident_svc.config_section import Section


class ImapSettings(Section):
    """[bounces.imap]: the report mailbox `serve` polls; off while host is empty."""

    host: str = ""
    port: int = Field(default=993, ge=1, le=65535)
    security: Literal["tls", "plain"] = "tls"  # plain only when said so (loopback, tests)
    ca_file: FilePath | None = None  # PEM CA(s) the server's certificate must chain to
    username: str = ""
    password: SecretStr | None = None  # from INCIDENT_SVC_BOUNCES__IMAP__PASSWORD only
    mailbox: str = "INBOX"
    processed_mailbox: str = ""  # move handled reports there; empty: flag them \Seen
    poll_seconds: float = Field(default=60.0, gt=0)
    timeout: float = Field(default=30.0, gt=0)
    batch_size: int = Field(default=200, ge=1, le=10000)
    max_message_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    @model_validator(mode="after")
    def _complete(self) -> ImapSettings:
        if self.host and not self.username:
            raise ValueError("bounces.imap.host is set but username is empty")
        return self


class SnsWebhookSettings(Section):
    """[bounces.webhooks.ses]: Amazon SES events through SNS; off while topic_arns is empty."""

    topic_arns: list[
        Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]+$")]
    ] = Field(default_factory=list)
    confirm_subscriptions: bool = True
    max_age_seconds: int = Field(default=3600, ge=1)

    @property
    def enabled(self) -> bool:
        return bool(self.topic_arns)


class PostmarkWebhookSettings(Section):
    username: str = ""
    password: SecretStr | None = None  # from the environment
    allow_unsigned: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.username and self.password) or self.allow_unsigned


class SendgridWebhookSettings(Section):
    public_key: str = ""  # the Event Webhook verification key (base64 DER, as SendGrid shows it)
    allow_unsigned: bool = False
    max_age_seconds: int = Field(default=600, ge=1)

    @property
    def enabled(self) -> bool:
        return bool(self.public_key) or self.allow_unsigned


class MailgunWebhookSettings(Section):
    signing_key: SecretStr | None = None  # from the environment
    allow_unsigned: bool = False
    max_age_seconds: int = Field(default=600, ge=1)

    @property
    def enabled(self) -> bool:
        return self.signing_key is not None or self.allow_unsigned


class WebhookSettings(Section):
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    ses: SnsWebhookSettings = SnsWebhookSettings()
    postmark: PostmarkWebhookSettings = PostmarkWebhookSettings()
    sendgrid: SendgridWebhookSettings = SendgridWebhookSettings()
    mailgun: MailgunWebhookSettings = MailgunWebhookSettings()


class BounceSettings(Section):
    # envelope senders <local_part+TOKEN@domain>; unset: the address of mail_from, no VERP
    domain: str | None = None
    local_part: str = Field(default="bounce", pattern=r"^[A-Za-z0-9._-]{1,32}$")
    # HMAC key of the tokens; unset: derived from the audit key (audit.hmac_key or its file)
    token_secret: SecretStr | None = None
    batch_size: int = Field(default=500, ge=1, le=5000)  # reports per transaction
    # `bounces ingest` of a large folder parses in worker processes (None: cores - 1; 0: none)
    parse_processes: int | None = Field(default=None, ge=0, le=64)
    parse_parallel_from: int = Field(default=2000, ge=0)  # reports before the workers start
    imap: ImapSettings = ImapSettings()  # the report mailbox serve polls
    webhooks: WebhookSettings = WebhookSettings()  # provider webhooks on the serve HTTP
