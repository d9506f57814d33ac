"""SSH signatures checked by the real ssh-keygen against a real allowed_signers file."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_svc.config import load_settings
from incident_svc.errors import ConfigError, ValidationError
from incident_svc.identity import openssh
from incident_svc.services.delivery import approvers
from tests.support import signers

TEXT = "incident-svc approval\ncampaign: 3\ndigest: " + "0" * 64 + "\n"


async def test_a_listed_key_names_its_principal() -> None:
    keys = signers.shared()
    signature = keys.sign("bob", TEXT)
    assert await openssh.verify(TEXT.encode(), signature, keys.allowed_signers, source="s") == "bob"


@pytest.mark.parametrize(
    ("signer", "text", "namespace", "reason"),
    [
        ("eve", TEXT, "incident-svc-approval", "not listed"),  # a foreign key
        ("bob", TEXT, "git", "does not verify"),  # another namespace
        (
            "bob",
            TEXT.replace("campaign: 3", "campaign: 4"),
            "incident-svc-approval",
            "does not verify",
        ),
        ("bob", TEXT.replace("0" * 64, "1" * 64), "incident-svc-approval", "does not verify"),
    ],
)
async def test_foreign_wrong_namespace_and_wrong_text_are_refused(
    signer: str, text: str, namespace: str, reason: str
) -> None:
    keys = signers.shared()
    signature = keys.sign(signer, text, namespace)
    with pytest.raises(ValidationError, match=reason) as info:
        await openssh.verify(TEXT.encode(), signature, keys.allowed_signers, source="x.sig")
    assert str(info.value).startswith("x.sig: ") and "\n" not in str(info.value)


async def test_a_key_listed_for_two_people_is_refused(tmp_path: Path) -> None:
    keys = signers.shared()
    line = keys.allowed_signers.read_text().splitlines()[1].split(" ", 1)[1]  # bob's key
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"bob,carol {line}\n")
    with pytest.raises(ValidationError, match="2 principals"):
        await openssh.verify(TEXT.encode(), keys.sign("bob", TEXT), allowed, source="s")


async def test_a_missing_allowed_signers_file_is_a_config_error(tmp_path: Path) -> None:
    keys = signers.shared()
    with pytest.raises(ConfigError, match=r"approval\.allowed_signers"):
        await openssh.verify(TEXT.encode(), keys.sign("bob", TEXT), tmp_path / "nope", source="s")


async def test_signing_with_a_key_file_and_a_missing_one() -> None:
    keys = signers.shared()
    made = await approvers.sign(TEXT, keys.key("alice"))
    assert (
        await openssh.verify(TEXT.encode(), made.data, keys.allowed_signers, source="s") == "alice"
    )
    with pytest.raises(ValidationError, match="no such key file"):
        await approvers.sign(TEXT, keys.key("nobody"))


def test_a_signature_file_that_is_not_one_is_refused(tmp_path: Path) -> None:
    for content in (b"", b"hello", b"-----BEGIN SSH SIGNATURE-----" + b"A" * 70_000):
        path = tmp_path / "bad.sig"
        path.write_bytes(content)
        with pytest.raises(ValidationError, match="not an SSH signature"):
            approvers.read_signature(path)
    with pytest.raises(ValidationError, match="cannot read"):
        approvers.read_signature(tmp_path / "missing.sig")


ARMOUR = st.builds(
    lambda body, tail: b"-----BEGIN SSH SIGNATURE-----\n" + body + tail,
    st.binary(max_size=300)
    | st.text(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n", max_size=300
    ).map(str.encode),
    st.sampled_from([b"", b"\n-----END SSH SIGNATURE-----\n"]),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(signature=ARMOUR | st.binary(max_size=200))
async def test_hostile_signature_bytes_are_refused_in_one_line(signature: bytes) -> None:
    keys = signers.shared()
    with pytest.raises(ValidationError) as info:
        await openssh.verify(TEXT.encode(), signature, keys.allowed_signers, source="h.sig")
    assert str(info.value).startswith("h.sig: ") and "\n" not in str(info.value)


def test_signed_mode_needs_an_allowed_signers_file_in_the_config() -> None:
    with pytest.raises(ConfigError, match=r"approval: .*allowed_signers") as info:
        load_settings(overrides={"approval": {"mode": "signed"}})
    assert info.value.key == "approval" and "\n" not in str(info.value)
    with pytest.raises(ConfigError, match=r"approval\.mode"):
        load_settings(overrides={"approval": {"mode": "trust-me"}})
