"""Optional DKIM signing: a signed notice verifies against the public key; bad config is clear."""

from __future__ import annotations

import base64
import subprocess
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import dkim
import pytest

from incident_svc.config import DkimSettings, Settings
from incident_svc.domain.enums import NoticeKind
from incident_svc.errors import ConfigError
from incident_svc.mail.dkim import load_signer
from incident_svc.mail.smtp_transaction import wire_form
from incident_svc.notices.composer import ComposeItem, load_composer
from tests.notice_data import make_incident, make_subject


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """An RSA key made by the openssl command line, and its DNS TXT record."""
    folder = tmp_path_factory.mktemp("dkim")
    private = folder / "dkim.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
         "-out", str(private)],
        check=True, capture_output=True,
    )  # fmt: skip
    public = subprocess.run(
        ["openssl", "pkey", "-in", str(private), "-pubout", "-outform", "DER"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


async def test_signed_notice_verifies(
    db_conn: str, settings_for: Any, key_pair: tuple[Path, bytes]
) -> None:
    private, record = key_pair
    settings: Settings = settings_for(
        db_conn,
        dkim={"domain": "example.com", "selector": "notices", "private_key_file": str(private)},
    )
    incident = await make_incident()
    person = await make_subject(incident, "D1", name="陳大文", locale="zh-Hant-HK")
    composer = await load_composer(
        incident_id=incident.id, kind=NoticeKind.SUBJECT_NOTICE, settings=settings
    )
    item = ComposeItem(1, person.id, None, person.email, person.locale, "<d1@example.com>")
    [message] = await composer.compose_batch([item])
    assert message.data.startswith(b"DKIM-Signature:")
    # the signed message is still in wire form: DATA sends it as composed (dot-stuffed)
    assert message.wire is not None and message.wire == wire_form(message.data)
    asked: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes:
        asked.append(name)
        return record

    assert dkim.verify(message.data, dnsfunc=dns)
    assert asked == [b"notices._domainkey.example.com."]
    tampered = message.data.replace(b"Subject: ", b"Subject: Re: ", 1)
    assert not dkim.verify(tampered, dnsfunc=dns)
    parsed = BytesParser(policy=policy.default).parsebytes(message.data)
    assert "d=example.com" in str(parsed["DKIM-Signature"])


def test_dkim_settings_must_be_complete_and_readable(tmp_path: Path) -> None:
    assert load_signer(DkimSettings()) is None
    with pytest.raises(ConfigError, match="together"):
        load_signer(DkimSettings(domain="example.com"))
    with pytest.raises(ConfigError, match="private_key_file"):
        load_signer(
            DkimSettings(
                domain="example.com", selector="s", private_key_file=tmp_path / "missing.pem"
            )
        )
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")
    with pytest.raises(ConfigError, match="DKIM"):
        load_signer(DkimSettings(domain="example.com", selector="s", private_key_file=junk))
