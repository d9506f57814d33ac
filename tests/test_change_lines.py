"""`incident update` prints what changed, one short line each, never whole dicts."""

from __future__ import annotations

from incident_svc.cli.change_lines import change_lines


def test_fields_lists_and_texts() -> None:
    diff = {
        "severity": {"old": "high", "new": "critical"},
        "occurred_from": {"old": None, "new": "2026-11-27T00:00:00+00:00"},
        "systems": {"old": ["crm"], "new": ["billing", "crm"]},
        "jurisdictions": {"old": ["GB", "HK"], "new": []},
        "texts": {
            "old": {"en": {"what_happened": "A", "contact": "c@example.com"}},
            "new": {"en": {"what_happened": "B" * 100}, "zh-Hant": {"measures": "已處理"}},
        },
    }
    assert change_lines("INC-2026-0001", diff) == [
        "INC-2026-0001 severity: high -> critical",
        "INC-2026-0001 occurred from: - -> 2026-11-27T00:00:00+00:00",
        "INC-2026-0001 systems: added billing",
        "INC-2026-0001 jurisdictions: removed GB, HK",
        "INC-2026-0001 en contact: removed",
        f'INC-2026-0001 en what happened: changed to "{"B" * 59}…"',
        'INC-2026-0001 zh-Hant measures: set to "已處理"',
    ]


def test_no_python_reprs() -> None:
    lines = change_lines("INC-1", {"texts": {"old": {}, "new": {"en": {"contact": "x"}}}})
    assert lines == ['INC-1 en contact: set to "x"']
    assert not any("{" in line or "['" in line for line in lines)
