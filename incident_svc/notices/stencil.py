"""Stencils: a notice rendered once per shape of reader, with the reader's own words as holes.

Most of a notice is the same for every reader of one locale: the incident's texts, the
organisation, the labels, the CSS. What differs is a few words (the reader's name) and a few
choices (the reader's categories, time zone, jurisdiction). A :class:`Stencils` renders each
template once per *shape* -- the per-message context with the hole values taken out -- with
probe strings in the holes, runs the CSS inliner over that once, and from then on fills the
holes of every reader of that shape with ``str.translate`` and a join. The output is the same
string the full path (Jinja ``render`` + :func:`~incident_svc.notices.rendering.inline_css`)
produces; the first message of every shape is rendered both ways and compared, and a shape
whose stencil differs is rendered in full from then on.

What may be a hole is decided from the templates' syntax trees, conservatively: an attribute
of a per-message dict (``recipient.name``) whose every use, in the template and all it
extends or includes, is a plain ``{{ recipient.name }}`` outside macros, call, filter and set
blocks. An attribute that is tested, filtered, compared or assigned anywhere is part of the
shape instead. Templates with macros, imports, ``self`` or computed template names get no
stencils. A value becomes a hole only if it is a non-empty string without control characters
and without whitespace at either end (the HTML parser treats those specially); other values
are rendered in full. Filters that take the context read only ``locale`` and ``timezone``,
which are never holes (see :mod:`incident_svc.notices.filters`).

How a hole is escaped is not assumed but observed: the probe carries ``& < > " '`` and a
no-break space, and the rendered probe shows how each came out (Jinja's autoescape, the
inliner's serialiser, text or attribute); that becomes the hole's translation table.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import jinja2
from jinja2 import meta, nodes

from incident_svc.errors import TemplateError

log = logging.getLogger(__name__)

_OPEN, _MID, _CLOSE = "\ue000", "\ue001", "\ue002"
_PROBE = "&<>\"'\u00a0"
# How each probe character may come out: Jinja's escape, then the inliner's serialiser.
_FORMS = {
    "&": ("&amp;", "&"),
    "<": ("&lt;", "<"),
    ">": ("&gt;", ">"),
    '"': ("&#34;", "&quot;", '"'),
    "'": ("&#39;", "'"),
    "\u00a0": ("&nbsp;", "\u00a0"),
}
_FOUND = re.compile(f"{_OPEN}(\\d+){_MID}(.*?){_CLOSE}", re.DOTALL)
_MARKERS = re.compile(f"[{_OPEN}{_MID}{_CLOSE}]")
_FIT_VALUE = re.compile(f"[^\\x00-\\x1f\\x7f{_OPEN}{_MID}{_CLOSE}]+")
_PASS_THROUGH = (
    nodes.Template,
    nodes.Output,
    nodes.If,
    nodes.For,
    nodes.Block,
    nodes.Scope,
    nodes.With,
    nodes.Include,
    nodes.Extends,
    nodes.EvalContextModifier,
)
_REFUSED = (
    nodes.Macro,
    nodes.CallBlock,
    nodes.FilterBlock,
    nodes.AssignBlock,
    nodes.Import,
    nodes.FromImport,
)
MAX_SHAPES = 512  # per Stencils; beyond that new shapes are rendered in full


class _Unfit(Exception):
    """This template (or this value) cannot be stencilled; render it in full."""


@dataclass(frozen=True)
class Taint:
    """Names and attributes the templates use other than as a plain ``{{ name.attr }}``."""

    names: frozenset[str]
    attrs: frozenset[tuple[str, str]]


def taint(env: jinja2.Environment, names: Sequence[str]) -> Taint | None:
    """What the templates ``names`` (and all they pull in) use beyond plain output; None: unfit."""
    whole: set[str] = set()
    attrs: set[tuple[str, str]] = set()
    seen: set[str] = set()
    todo = list(names)
    try:
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            source, filename, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
            tree = env.parse(source, name, filename)
            for referenced in meta.find_referenced_templates(tree):
                if referenced is None:
                    raise _Unfit(f"{name}: a computed template name")
                todo.append(referenced)
            _scan(tree, True, whole, attrs)
    except _Unfit as exc:
        log.debug("no stencils: %s", exc)
        return None
    except jinja2.TemplateError:  # a broken or missing file: the full rendering says where
        return None
    return Taint(frozenset(whole), frozenset(attrs))


def _scan(node: nodes.Node, plain: bool, whole: set[str], attrs: set[tuple[str, str]]) -> None:
    if isinstance(node, _REFUSED):
        raise _Unfit(f"{type(node).__name__} at line {node.lineno}")
    if isinstance(node, nodes.Output):
        for child in node.nodes:
            if not (plain and _plain_attribute(child)):
                _scan(child, False, whole, attrs)
        return
    if isinstance(node, nodes.Name):  # {{ super() }} alone in an output was let through above
        if node.name in ("self", "super", "caller"):
            raise _Unfit(f"{node.name!r} at line {node.lineno}")
        whole.add(node.name)
        return
    if isinstance(node, nodes.Getattr | nodes.Getitem) and isinstance(node.node, nodes.Name):
        attr = _attribute(node)
        if attr is not None and node.node.name not in ("self", "super", "caller"):
            attrs.add((node.node.name, attr))
            return
    inner = plain and isinstance(node, _PASS_THROUGH)
    for inside in node.iter_child_nodes():
        _scan(inside, inner, whole, attrs)


def _plain_attribute(node: nodes.Node) -> bool:
    """``{{ name.attr }}`` or ``{{ name['attr'] }}``; ``{{ super() }}`` counts as plain too."""
    if isinstance(node, nodes.Call):
        return _is_name(node.node, "super") and not (node.args or node.kwargs)
    if isinstance(node, nodes.Getattr | nodes.Getitem) and isinstance(node.node, nodes.Name):
        return node.node.ctx == "load" and _attribute(node) is not None
    return False


def _attribute(node: nodes.Getattr | nodes.Getitem) -> str | None:
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return node.arg.value
    return None


def _is_name(node: nodes.Node, name: str) -> bool:
    return isinstance(node, nodes.Name) and node.name == name


@dataclass(frozen=True)
class Stencil:
    """Literal pieces around holes; each hole has its index and its translation table."""

    pieces: tuple[str, ...]
    holes: tuple[tuple[int, Mapping[int, str]], ...]

    def fill(self, values: Sequence[str]) -> str:
        out = [self.pieces[0]]
        for (index, table), piece in zip(self.holes, self.pieces[1:], strict=True):
            out.append(values[index].translate(table))
            out.append(piece)
        return "".join(out)

    def escapes_markup(self) -> bool:
        """Every hole is HTML-escaped (what a hole in an HTML template must be)."""
        return all(table.get(ord("<")) == "&lt;" for _, table in self.holes)


def probe(index: int) -> str:
    return f"{_OPEN}{index}{_MID}{_PROBE}{_CLOSE}"


def cut(rendered: str, count: int) -> Stencil:
    """The stencil of a text rendered with ``probe(i)`` in hole ``i``; _Unfit if mangled."""
    pieces: list[str] = []
    holes: list[tuple[int, Mapping[int, str]]] = []
    start = 0
    for found in _FOUND.finditer(rendered):
        index = int(found.group(1))
        if index >= count:
            raise _Unfit("a probe index out of range")
        pieces.append(rendered[start : found.start()])
        holes.append((index, _table(found.group(2))))
        start = found.end()
    pieces.append(rendered[start:])
    if any(_MARKERS.search(piece) for piece in pieces):
        raise _Unfit("a probe came out transformed")
    return Stencil(tuple(pieces), tuple(holes))


def _table(shown: str) -> dict[int, str]:
    table: dict[int, str] = {}
    for char in _PROBE:
        form = next((f for f in _FORMS[char] if shown.startswith(f)), None)
        if form is None:
            raise _Unfit(f"probe character {char!r} came out as {shown[:8]!r}")
        if form != char:
            table[ord(char)] = form
        shown = shown[len(form) :]
    if shown:
        raise _Unfit("a probe came out longer than it went in")
    return table


def fit_value(value: object) -> bool:
    """May this value be a hole? Non-empty text, no controls, no whitespace at either end."""
    return (
        isinstance(value, str)
        and _FIT_VALUE.fullmatch(value) is not None
        and not value[0].isspace()
        and not value[-1].isspace()
    )


def freeze(value: Any) -> Any:
    """A hashable stand-in for a context value; _Unfit for types a shape cannot hold."""
    if value is None or isinstance(value, str | int | float | datetime | date):
        return (type(value), value)
    if isinstance(value, Mapping):
        return (dict, tuple(sorted((str(k), freeze(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return (list, tuple(freeze(v) for v in value))
    raise _Unfit(f"a {type(value).__name__} in the context")


Produce = Callable[[Mapping[str, Any]], tuple[str, ...]]
Finish = Callable[[str], str]


@dataclass
class _Shape:
    stencils: tuple[Stencil, ...] | None  # None: render this shape in full
    verified: bool = False


class Stencils:
    """The stencils of one set of templates (say subject, text and HTML of one notice kind).

    ``finishers`` has one entry per part: None for text, or the step an HTML part goes through
    after Jinja (the CSS inliner); a part with a finisher must escape every hole.
    """

    def __init__(self, taint: Taint | None, finishers: Sequence[Finish | None]) -> None:
        self._taint = taint
        self._finishers = tuple(finishers)
        self._shapes: dict[Any, _Shape] = {}
        self._shared: dict[int, Mapping[str, Any]] = {}  # keeps id(shared) meaningful
        self.hits = 0

    def render(
        self, context: Mapping[str, Any], shared: Mapping[str, Any], produce: Produce
    ) -> tuple[str, ...]:
        """The finished parts ``produce(context)`` renders, from a stencil when one fits.

        ``shared`` is the part of the context every message of one locale has in common (the
        same object every time); the rest of the context makes the shape and the holes.
        """
        split = self._split(context, shared)
        if split is None:
            return self._full(context, produce)
        key, paths, values = split
        shape = self._shapes.get(key)
        if shape is None:
            if len(self._shapes) >= MAX_SHAPES:
                return self._full(context, produce)
            shape = self._shapes[key] = _Shape(self._cut(context, paths, produce))
        if shape.stencils is None:
            return self._full(context, produce)
        filled = tuple(s.fill(values) for s in shape.stencils)
        if not shape.verified:
            if filled != self._full(context, produce):
                log.warning("a notice stencil differs from the full rendering; not used")
                shape.stencils = None
                return self._full(context, produce)
            shape.verified = True
        self.hits += 1
        return filled

    def _full(self, context: Mapping[str, Any], produce: Produce) -> tuple[str, ...]:
        parts = produce(context)
        return tuple(
            part if finish is None else finish(part)
            for part, finish in zip(parts, self._finishers, strict=True)
        )

    def _split(
        self, context: Mapping[str, Any], shared: Mapping[str, Any]
    ) -> tuple[Any, list[tuple[str, str]], list[str]] | None:
        """(shape key, hole paths, hole values) of this context; None: render in full."""
        taint = self._taint
        if taint is None:
            return None
        self._shared.setdefault(id(shared), shared)
        shape: list[Any] = [id(shared)]
        paths: list[tuple[str, str]] = []
        values: list[str] = []
        try:
            for name, value in context.items():
                if shared.get(name, _MISSING) is value:
                    continue
                if isinstance(value, dict) and name not in taint.names:
                    rest = {}
                    for attr, item in value.items():
                        if (
                            (name, attr) in taint.attrs
                            or hasattr(dict, attr)
                            or not fit_value(item)
                        ):
                            rest[attr] = item
                        else:
                            paths.append((name, attr))
                            values.append(item)
                    shape.append((name, freeze(rest)))
                else:
                    shape.append((name, freeze(value)))
        except _Unfit:
            return None
        return (tuple(shape), tuple(paths)), paths, values

    def _cut(
        self, context: Mapping[str, Any], paths: list[tuple[str, str]], produce: Produce
    ) -> tuple[Stencil, ...] | None:
        probed = {name: dict(value) if isinstance(value, dict) else value
                  for name, value in context.items()}  # fmt: skip
        for index, (name, attr) in enumerate(paths):
            probed[name][attr] = probe(index)
        try:
            parts = produce(probed)
            stencils = []
            for part, finish in zip(parts, self._finishers, strict=True):
                if finish is None:
                    stencils.append(cut(part, len(paths)))
                    continue
                if not cut(part, len(paths)).escapes_markup():
                    return None  # a hole written unescaped into HTML: only Jinja knows it
                stencils.append(cut(finish(part), len(paths)))
        except _Unfit as exc:
            log.debug("no stencil for a shape: %s", exc)
            return None
        except TemplateError:  # the full rendering raises it again, for the real reader
            return None
        return tuple(stencils)


_MISSING = object()


def shapes_of(stencils: Stencils) -> Iterator[bool]:
    """Whether each known shape has a usable stencil (tests and diagnostics)."""
    return (shape.stencils is not None for shape in stencils._shapes.values())
