"""Following a notice's http(s) links for ``notice check --online-links`` (stdlib, threads)."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from collections.abc import Iterable

_PARALLEL = 8
_HEADERS = {"User-Agent": "incident-svc notice check"}


async def unreachable(links: Iterable[str], *, seconds_per_link: float = 10.0) -> dict[str, str]:
    """``{url: reason}`` for every http(s) link that does not answer with a 2xx or 3xx."""
    urls = sorted({u for u in links if u.lower().startswith(("http://", "https://"))})
    gate = asyncio.Semaphore(_PARALLEL)

    async def one(url: str) -> tuple[str, str | None]:
        async with gate:
            return url, await asyncio.to_thread(_problem, url, seconds_per_link)

    results = await asyncio.gather(*(one(u) for u in urls))
    return {url: reason for url, reason in results if reason is not None}


def _problem(url: str, timeout: float) -> str | None:
    for method in ("HEAD", "GET"):  # some servers refuse HEAD (405) but serve GET
        request = urllib.request.Request(url, method=method, headers=_HEADERS)
        try:
            with urllib.request.urlopen(request, timeout=timeout):
                return None
        except urllib.error.HTTPError as exc:
            if method == "HEAD" and exc.code in (403, 405, 501):
                continue
            return f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return f"unreachable: {getattr(exc, 'reason', exc)}"
    return None
