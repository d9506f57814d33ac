"""Configuration: precedence (default.toml < --config file < environment < overrides) and errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_svc.config import load_settings
from incident_svc.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("INCIDENT_SVC_") and not name.startswith("INCIDENT_SVC_TEST_"):
            monkeypatch.delenv(name)


def test_defaults_come_from_default_toml() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite://var/incident-svc.sqlite3"
    assert settings.smtp.port == 8025
    assert settings.approval.required is True
    assert settings.reminders.offsets_hours == [24.0, 4.0]


def test_file_overrides_defaults_and_env_overrides_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "site.toml"
    config.write_text(
        'mail_from = "Sec <sec@corp.example>"\n[smtp]\nhost = "relay.corp"\nport = 587\n'
    )
    from_file = load_settings(config)
    assert (from_file.smtp.host, from_file.smtp.port) == ("relay.corp", 587)
    assert from_file.smtp.timeout == 30.0  # untouched keys keep the default
    assert from_file.mail_from == "Sec <sec@corp.example>"

    monkeypatch.setenv("INCIDENT_SVC_SMTP__PORT", "2525")
    monkeypatch.setenv("INCIDENT_SVC_FEED__ALLOWED_ORIGINS", '["https://www.corp.example"]')
    from_env = load_settings(config)
    assert from_env.smtp.port == 2525
    assert from_env.smtp.host == "relay.corp"
    assert from_env.feed.allowed_origins == ["https://www.corp.example"]

    overridden = load_settings(config, overrides={"smtp": {"port": 25}})
    assert overridden.smtp.port == 25


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "site.toml"
    config.write_text("[approval]\nrequired = false\n")
    monkeypatch.setenv("INCIDENT_SVC_CONFIG", str(config))
    assert load_settings().approval.required is False


def test_bad_value_names_the_key_and_the_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENT_SVC_SMTP__PORT", "not-a-port")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert caught.value.key == "smtp.port"
    assert "smtp.port" in message and "valid integer" in message and "not-a-port" in message
    assert "\n" not in message


def test_unknown_key_in_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "typo.toml"
    config.write_text("[smtp]\nhots = 'relay'\n")
    with pytest.raises(ConfigError, match=r"smtp\.hots"):
        load_settings(config)


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "broken.toml"
    config.write_text("[smtp\nhost = 1\n")
    with pytest.raises(ConfigError, match=r"broken\.toml: not valid TOML"):
        load_settings(config)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_secrets_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENT_SVC_SMTP__PASSWORD", "hunter2")
    monkeypatch.setenv("INCIDENT_SVC_AUDIT__HMAC_KEY", "chain-key")
    monkeypatch.setenv("INCIDENT_SVC_FEED__TOKEN_SECRET", "feed-key")
    settings = load_settings()
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    for secret in ("hunter2", "chain-key", "feed-key"):
        assert secret not in shown
    assert settings.smtp.password is not None
    assert settings.smtp.password.get_secret_value() == "hunter2"


def test_secret_value_never_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENT_SVC_SMTP__PASSWORD", "hunter2")
    monkeypatch.setenv("INCIDENT_SVC_SMTP__STARTTLS", "true")
    monkeypatch.setenv("INCIDENT_SVC_SMTP__TLS", "true")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "starttls and tls exclude each other" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_settings_are_immutable() -> None:
    settings = load_settings()
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises its own ValidationError
        settings.smtp.port = 1  # type: ignore[misc]


def test_fault_keys_have_their_defaults() -> None:
    settings = load_settings()
    assert settings.database.fault_tolerance_seconds == 60.0
    assert settings.delivery.lease_seconds == 60.0
    assert settings.delivery.relay_probe_seconds == 5.0
    assert settings.delivery.relay_probe_max_seconds == 60.0
    assert settings.delivery.outage_alert_seconds == 300.0


FAULT_KEYS = [
    ("database", "fault_tolerance_seconds"),
    ("delivery", "relay_probe_seconds"),
    ("delivery", "relay_probe_max_seconds"),
    ("delivery", "outage_alert_seconds"),
    ("delivery", "lease_seconds"),
]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(
    key=st.sampled_from(FAULT_KEYS),
    value=st.one_of(
        st.floats(max_value=-0.001),
        st.text(max_size=30),
        st.just(float("nan")),
        st.lists(st.integers(), max_size=2),
    ),
)
def test_a_bad_fault_setting_is_one_line_naming_its_key(
    key: tuple[str, str], value: object
) -> None:
    section, name = key
    try:
        load_settings(overrides={section: {name: value}})
    except ConfigError as exc:
        assert exc.key == f"{section}.{name}"
        assert "\n" not in str(exc)
    else:  # only a text that reads as a non-negative number may pass
        assert isinstance(value, str) and float(value) >= 0
