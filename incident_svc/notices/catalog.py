"""The templates: operator files over built-ins, one sandboxed Jinja environment, content hashes.

A template name is a path under a templates folder, such as
``email/subject_notice/zh-Hant/body.html.j2``. The operator's ``templates_dir`` (optional) is
searched first, the built-in ``templates/`` second, file by file, so an operator can replace
one subject line and keep every other built-in file. Each part is looked up along the reader's
locale chain (``zh-Hant-HK -> zh-Hant -> en``) on its own.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from incident_svc.errors import ConfigError, TemplateError, ValidationError
from incident_svc.notices import filters
from incident_svc.notices.errors import located
from incident_svc.notices.locales import canonical, fallback_chain
from incident_svc.resources import builtin_templates_dir

LABELS_DIR = "labels"
SHARED_DIR = "email/_shared"


def email_prefixes(kind: str) -> tuple[str, ...]:
    """The folders whose files one email kind may use: its own, the shared parts, labels."""
    return (f"email/{kind}/", SHARED_DIR, LABELS_DIR)


def _autoescape(name: str | None) -> bool:
    return name is not None and name.endswith((".html.j2", ".html"))


def build_environment(search_path: list[Path]) -> ImmutableSandboxedEnvironment:
    """The one place templates are compiled: sandboxed, StrictUndefined, HTML autoescaped."""
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader([str(p) for p in search_path], followlinks=False),
        undefined=jinja2.StrictUndefined,
        autoescape=_autoescape,
        auto_reload=False,
        cache_size=-1,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(filters.FILTERS)
    return env


class TemplateCatalog:
    """Every template one composer may use, compiled once on first use."""

    def __init__(self, operator_dir: Path | None) -> None:
        if operator_dir is not None and not operator_dir.is_dir():
            raise ConfigError(f"templates_dir {operator_dir} is not a folder", key="templates_dir")
        self.operator_dir = operator_dir
        self.search_path = [p for p in (operator_dir, builtin_templates_dir()) if p]
        self.env = build_environment(self.search_path)
        self._labels: dict[str, dict[str, Any]] = {}
        self._resolved: dict[tuple[str, str, str], str] = {}

    def origin(self, name: str) -> Path | None:
        """The file that ``name`` is read from (the operator's if it has one)."""
        for root in self.search_path:
            path = root / name
            if path.is_file():
                return path
        return None

    def resolve(self, folder: str, part: str, locale: str) -> str:
        """The template name for ``folder/<locale>/part`` along the locale's fallback chain.

        Remembered for the catalog's life: a composer uses one version of the files."""
        key = (folder, part, locale)
        if key not in self._resolved:
            self._resolved[key] = self._resolve(folder, part, locale)
        return self._resolved[key]

    def _resolve(self, folder: str, part: str, locale: str) -> str:
        for candidate in fallback_chain(locale):
            name = f"{folder}/{candidate}/{part}"
            if self.origin(name) is not None:
                return name
        raise TemplateError(
            f"no template {folder}/<locale>/{part} for locale {locale!r} "
            f"(tried {', '.join(fallback_chain(locale))} in {self._where()})"
        )

    def date_locale(self, folder: str, part: str, locale: str) -> str:
        """The locale dates are written in: the reader's, unless the text fell back to another
        language (a French reader of the English template gets English dates, not French)."""
        written = self.resolve(folder, part, locale).split("/")[-2]
        return locale if written.split("-")[0] == canonical(locale).split("-")[0] else written

    def template(self, name: str) -> jinja2.Template:
        try:
            return self.env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise located(exc, self) from None

    def labels(self, locale: str) -> dict[str, Any]:
        """Words the templates and the checks share (data categories, the service notice)."""
        if locale not in self._labels:
            merged: dict[str, Any] = {}
            for candidate in reversed(fallback_chain(locale)):
                _merge(merged, self._read_labels(candidate))
            self._labels[locale] = merged
        return self._labels[locale]

    def _read_labels(self, locale: str) -> dict[str, Any]:
        path = self.origin(f"{LABELS_DIR}/{locale}.toml")
        if path is None:
            return {}
        try:
            return tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ValidationError(str(exc), file=str(path)) from None

    def content_hash(self, *prefixes: str) -> str:
        """SHA-256 over the name and effective content of every file under ``prefixes``."""
        digest = hashlib.sha256()
        for name in sorted(self._names_under(prefixes)):
            path = self.origin(name)
            assert path is not None
            digest.update(name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()

    def files(self, *prefixes: str) -> list[tuple[str, str, str]]:
        """(name, layer, SHA-256 of content) of every effective file under ``prefixes``;
        the layer is "operator" for a file from ``templates_dir``, else "builtin"."""
        found = []
        for name in sorted(self._names_under(prefixes)):
            path = self.origin(name)
            assert path is not None
            operator = self.operator_dir is not None and path.is_relative_to(self.operator_dir)
            layer = "operator" if operator else "builtin"
            found.append((name, layer, hashlib.sha256(path.read_bytes()).hexdigest()))
        return found

    def _names_under(self, prefixes: tuple[str, ...]) -> set[str]:
        names: set[str] = set()
        for root in self.search_path:
            for path in root.rglob("*"):
                name = path.relative_to(root).as_posix()
                if path.is_file() and name.startswith(prefixes):
                    names.add(name)
        return names

    def _where(self) -> str:
        return " and ".join(str(p) for p in self.search_path)


def _merge(into: dict[str, Any], layer: dict[str, Any]) -> None:
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value
