"""[bounces.imap] and [bounces.webhooks]: off by default, secrets from the environment only."""

from __future__ import annotations

from pathlib import Path

import pytest

from incident_svc.config import load_settings
from incident_svc.errors import ConfigError
from incident_svc.web.webhooks import webhook_routes


def test_everything_is_off_by_default() -> None:
    settings = load_settings()
    assert not settings.bounces.imap.enabled
    assert settings.bounces.imap.security == "tls"
    assert webhook_routes(settings, ingest=None) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("toml", "env"),
    [
        ('[bounces.imap]\npassword = "hunter2"\n', "INCIDENT_SVC_BOUNCES__IMAP__PASSWORD"),
        (
            '[bounces.webhooks.mailgun]\nsigning_key = "hunter2"\n',
            "INCIDENT_SVC_BOUNCES__WEBHOOKS__MAILGUN__SIGNING_KEY",
        ),
        (
            '[bounces.webhooks.postmark]\npassword = "hunter2"\n',
            "INCIDENT_SVC_BOUNCES__WEBHOOKS__POSTMARK__PASSWORD",
        ),
    ],
)
def test_a_secret_in_a_file_is_refused(tmp_path: Path, toml: str, env: str) -> None:
    path = tmp_path / "operator.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert env in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert caught.value.exit_code == 2


def test_the_imap_password_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "operator.toml"
    path.write_text('[bounces.imap]\nhost = "imap.example.com"\nusername = "reports"\n')
    monkeypatch.setenv("INCIDENT_SVC_BOUNCES__IMAP__PASSWORD", "s3cret-imap")
    imap = load_settings(path).bounces.imap
    assert imap.enabled
    assert imap.password is not None and imap.password.get_secret_value() == "s3cret-imap"
    assert "s3cret-imap" not in repr(imap) and "s3cret-imap" not in str(imap)


def test_a_host_without_a_username_is_one_config_error(tmp_path: Path) -> None:
    path = tmp_path / "operator.toml"
    path.write_text('[bounces.imap]\nhost = "imap.example.com"\n')
    with pytest.raises(ConfigError, match="username"):
        load_settings(path)


def test_a_topic_that_is_not_an_sns_arn_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "operator.toml"
    path.write_text('[bounces.webhooks.ses]\ntopic_arns = ["https://sns.example/topic"]\n')
    with pytest.raises(ConfigError, match="topic_arns"):
        load_settings(path)
