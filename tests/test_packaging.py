"""An installed wheel (not only the source tree) finds its templates and default configuration."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_ships_templates_and_config_and_runs(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("incident_svc-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "incident_svc/_data/config/default.toml" in names
    assert "incident_svc/_data/config/compliance-rules.toml" in names
    assert any(n.startswith("incident_svc/_data/templates/") for n in names)
    assert any(n.startswith("incident_svc/migrations/0001") for n in names)

    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    probe = (
        "import incident_svc.resources as r, incident_svc.config as c\n"
        "print(r.default_config_file()); print(r.builtin_templates_dir())\n"
        "print(c.load_settings().smtp.port)\n"
        "from incident_svc.compliance_rules import load_rules\n"
        "print(r.builtin_rules_file(), len(load_rules(c.load_settings())) > 50)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", probe],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    ).stdout.splitlines()
    assert out[0] == str(target / "incident_svc/_data/config/default.toml")
    assert out[1] == str(target / "incident_svc/_data/templates")
    assert out[2] == "8025"
    assert out[3] == f"{target / 'incident_svc/_data/config/compliance-rules.toml'} True"
    help_text = subprocess.run(
        [sys.executable, "-m", "incident_svc", "--help"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    ).stdout
    assert "audit" in help_text
