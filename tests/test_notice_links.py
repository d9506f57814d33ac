"""`notice check --online-links` against a real local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from incident_svc.cli.main import app
from incident_svc.notices.checks import link_problem
from incident_svc.notices.linkcheck import unreachable
from tests.test_notice_cli import world  # noqa: F401  (the fixture)


class _Handler(BaseHTTPRequestHandler):
    def do_HEAD(self) -> None:
        self.send_response({"/ok": 200, "/get-only": 405}.get(self.path, 404))
        self.end_headers()

    def do_GET(self) -> None:
        self.send_response(200 if self.path in ("/ok", "/get-only") else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_unreachable_reports_only_dead_links(site: str) -> None:
    dead = await unreachable(
        [f"{site}/ok", f"{site}/get-only", f"{site}/gone", "mailto:a@example.com",
         "http://127.0.0.1:9/closed"],
        seconds_per_link=5,
    )  # fmt: skip
    assert set(dead) == {f"{site}/gone", "http://127.0.0.1:9/closed"}
    assert dead[f"{site}/gone"] == "HTTP 404"
    assert dead["http://127.0.0.1:9/closed"].startswith("unreachable")
    assert link_problem("http://127.0.0.1:8080/x") is None


def test_check_online_links_finds_the_dead_website_link(world: str, site: str) -> None:  # noqa: F811
    def check(url: str) -> tuple[int, dict[str, object]]:
        env = {"INCIDENT_SVC_DATABASE_URL": world, "INCIDENT_SVC_ORG__WEBSITE_URL": url}
        args = ["notice", "check", "INC-2026-0001", "--online-links", "--json"]
        result = CliRunner().invoke(app, args, env=env)
        return result.exit_code, json.loads(result.stdout)

    code, report = check(f"{site}/ok")
    assert code == 0 and report["ok"] is True
    code, report = check(f"{site}/gone")
    assert code == 1
    locales = report["locales"]
    assert isinstance(locales, dict)
    findings = locales["en"]["findings"]
    assert {(f["code"], f["part"]) for f in findings} == {
        ("broken_link", "html"),
        ("broken_link", "text"),
    }
    assert all("HTTP 404" in f["message"] for f in findings)
