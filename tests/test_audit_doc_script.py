"""The stand-alone verification recipe in docs/audit.md verifies a real export, and catches tampering."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from incident_svc import db
from incident_svc.services.auditlog import audit

ROOT = Path(__file__).resolve().parent.parent


def doc_script(tmp_path: Path) -> Path:
    text = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    code = re.search(r"## Verify an export elsewhere.*?```python\n(.*?)```", text, re.S)
    assert code is not None, "docs/audit.md lost its verification script"
    path = tmp_path / "verify_audit.py"
    path.write_text(code.group(1), encoding="utf-8")
    return path


async def test_doc_script_verifies_export(db_conn: str, tmp_path: Path) -> None:
    key = b"doc-key"
    for i in range(4):
        async with db.write_transaction() as conn:
            await audit.record(
                conn,
                actor="ana",
                action="t.x",
                target_type="t",
                target_id=str(i),
                details={"名前": "陳大文", "i": i},
                key=key,
            )
    export = tmp_path / "audit.jsonl"
    await audit.export(export)
    script = doc_script(tmp_path)

    ok = subprocess.run(
        [sys.executable, str(script), str(export), "doc-key"], capture_output=True, text=True
    )
    assert ok.returncode == 0 and ok.stdout.startswith("intact: 4 events"), ok.stderr

    lines = export.read_text(encoding="utf-8").splitlines()
    edited = json.loads(lines[1])
    edited["actor"] = "mallory"
    lines[1] = json.dumps(edited, ensure_ascii=False)
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, str(script), str(export), "doc-key"], capture_output=True, text=True
    )
    assert bad.returncode == 1 and "chain breaks at sequence 2" in bad.stderr
