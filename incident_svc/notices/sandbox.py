"""The sandbox operator templates run in: files from the template roots only, bounded values.

Jinja's ``ImmutableSandboxedEnvironment`` stops templates from reaching Python internals; it
does not stop them from reading a file through a symbolic link, or from building a value
that takes all the memory (``'x' * 10**9``). Here:

- :class:`RootedLoader` resolves every template's real path (symbolic links followed) and
  refuses one that ends outside the template roots, before the file is opened;
- :class:`LimitedSandbox` refuses, before Python builds it, a string or list longer than
  :data:`MAX_VALUE_CHARS` through ``*``, ``+``, ``~``, ``%``, ``**``, ``str`` methods that pad,
  replace or join, ``format`` specifications and the padding filters; whatever other filter
  returns a longer string is refused after the fact.

Time is bounded separately (:mod:`incident_svc.notices.deadline`): a loop builds nothing large.
"""

from __future__ import annotations

import functools
import os
import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import jinja2
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.loaders import split_template_path
from jinja2.nodes import Concat
from jinja2.sandbox import ImmutableSandboxedEnvironment

from incident_svc.notices.errors import TemplateRenderError

MAX_VALUE_CHARS = 1_000_000  # a notice is a few kilobytes
MAX_POWER_BITS = 10_000  # about 3,000 decimal digits
# a width or precision of a million or more, or one taken from the arguments (* or {w}):
# in printf style (%9999999d, %*d) and in format fields ({:>9999999}, {:>{w}})
_PERCENT_WIDTH = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(?:\d{7,}|\d*\.\d{7,}|\*|\d*\.\*)")
_FIELD_WIDTH = re.compile(r"\{[^{}]*:[^{}]*(?:\d{7,}|\{)")
_PADDING = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
_PADDING_FILTERS = frozenset({"center", "indent"})


def inside_roots(path: Path, roots: Sequence[Path], name: str) -> Path:
    """``path`` with every symbolic link resolved; a template error unless under a root."""
    real = path.resolve()
    if not any(real.is_relative_to(root) for root in roots):
        raise TemplateRenderError(
            f"template {name!r} resolves to {real}, outside the template folders "
            f"({', '.join(str(r) for r in roots)}): refused",
            kind="outside_roots",
            file=str(path),
            line=None,
        )
    return real


class RootedLoader(jinja2.FileSystemLoader):
    """A file loader that refuses (with our template error) files outside its roots."""

    def __init__(self, roots: Sequence[Path]) -> None:
        super().__init__([str(r) for r in roots], followlinks=False)
        self.real_roots = [Path(r).resolve() for r in roots]

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)  # refuses ".." and separators in a piece
        for root in self.searchpath:
            filename = posixpath.join(root, *pieces)
            if os.path.isfile(filename):
                break
        else:
            raise jinja2.TemplateNotFound(template)
        real = inside_roots(Path(filename), self.real_roots, template)
        contents = real.read_text(encoding=self.encoding)
        return contents, os.path.normpath(filename), lambda: True


def _too_big(what: str, size: int) -> SecurityError:
    return SecurityError(f"{what} would build {size:,} items, more than {MAX_VALUE_CHARS:,}")


def _length(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


def _check_repeat(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        size = _length(seq)
        if size is not None and isinstance(times, int) and size * times > MAX_VALUE_CHARS:
            raise _too_big("a repetition (*)", size * times)


def _check_power(base: Any, exponent: Any) -> None:
    if not (isinstance(base, int) and isinstance(exponent, int)):
        return
    if abs(base) > 1 and exponent > 0 and base.bit_length() * exponent > MAX_POWER_BITS:
        raise SecurityError(f"a power (**) of more than {MAX_POWER_BITS} bits")


def check_format(spec: str, args: Any, *, fields: bool) -> None:
    """Refuse a ``%`` (or, with ``fields``, ``str.format``) specification whose width or
    precision is a million or more, as written or taken from ``args``."""
    found = (_FIELD_WIDTH if fields else _PERCENT_WIDTH).search(spec)
    if found is None:
        return
    values = args if isinstance(args, tuple | list) else (args,)
    from_args = found.group().endswith(("{", "*"))
    if not from_args or any(isinstance(v, int) and v >= MAX_VALUE_CHARS for v in values):
        raise SecurityError(f"a format width of {MAX_VALUE_CHARS:,} or more")


def check_size(value: Any, what: str) -> Any:
    size = _length(value)
    if size is not None and size > MAX_VALUE_CHARS:
        raise _too_big(what, size)
    return value


def estimate(value: Any) -> int:
    """About how many characters ``str(value)`` makes, counting no further than past the cap."""
    total, todo, seen = 0, [value], 0
    while todo and total <= MAX_VALUE_CHARS:
        item = todo.pop()
        seen += 1
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 * len(item)
            todo.extend(item)
        elif isinstance(item, dict):
            total += 4 * len(item)
            todo.extend(item.keys())
            todo.extend(item.values())
        if seen > MAX_VALUE_CHARS:  # a million small items are too many too
            return seen
    return total


def check_estimate(value: Any, what: str) -> Any:
    size = estimate(value) if not isinstance(value, str) else len(value)
    if size > MAX_VALUE_CHARS:
        raise _too_big(what, size)
    return value


def _check_join(items: Any, separator: str = "") -> None:
    if isinstance(items, list | tuple):
        check_estimate(items, "a join")
        if len(separator) * len(items) > MAX_VALUE_CHARS:
            raise _too_big("a join", len(separator) * len(items))


def _check_replace(text: str, old: Any, new: Any, count: Any = -1) -> None:
    if not isinstance(old, str) or not isinstance(new, str) or len(new) <= len(old):
        return
    hits = text.count(old)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    size = len(text) + hits * (len(new) - len(old))
    if size > MAX_VALUE_CHARS:
        raise _too_big("a replace", size)


def _check_str_call(text: str, name: str, args: Sequence[Any]) -> None:
    if name in _PADDING and args and isinstance(args[0], int):
        width = args[0] * (text.count("\t") if name == "expandtabs" else 1)
        if width > MAX_VALUE_CHARS:
            raise _too_big(f"str.{name}", width)
    elif name == "replace" and len(args) >= 2:
        _check_replace(text, *args[:3])
    elif name == "join" and args:
        _check_join(args[0], text)


def _limited_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose numeric arguments and result are held to the size cap."""

    @functools.wraps(func)
    def limited(*args: Any, **kwargs: Any) -> Any:
        values = [a for a in (*args, *kwargs.values()) if not isinstance(a, bool)]
        for value in values:
            check_estimate(value, f"filter {name}")
        if any(isinstance(v, int) and v > MAX_VALUE_CHARS for v in values):
            raise SecurityError(f"filter {name}: a number above {MAX_VALUE_CHARS:,}")
        return check_size(func(*args, **kwargs), f"filter {name}")

    return limited


def _sized_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose inputs and result are held to the size cap (``format`` and ``replace``
    also checked for what they would build)."""

    @functools.wraps(func)
    def sized(*args: Any, **kwargs: Any) -> Any:
        values = (*args, *kwargs.values())
        for value in values:
            check_estimate(value, f"filter {name}")
        strings = [v for v in values if isinstance(v, str)]
        if name == "format" and strings:
            check_format(strings[0], (*args[1:], *kwargs.values()), fields=False)
        if name == "replace" and len(strings) >= 3:
            _check_replace(*strings[:3])
        return check_size(func(*args, **kwargs), f"filter {name}")

    return sized


def finalize_output(value: Any) -> Any:
    """Every ``{{ value }}``, before it becomes text: a huge list is refused, not printed."""
    return value if isinstance(value, str) else check_estimate(value, "an output")


class _LimitedCodeGenerator(CodeGenerator):
    """``a ~ b`` compiles to a join whose parts are checked against the size cap first."""

    def visit_Concat(self, node: Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"environment.checked_concat({join}, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with values bounded by :data:`MAX_VALUE_CHARS`."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _LimitedCodeGenerator

    def wrap_filters(self, names: Iterable[str]) -> None:
        """Hold every filter to the size cap (call after the filters are registered)."""
        for name in names:
            wrap = _limited_filter if name in _PADDING_FILTERS else _sized_filter
            self.filters[name] = wrap(name, self.filters[name])

    def checked_concat(self, join: Callable[[Any], str], parts: tuple[Any, ...]) -> str:
        check_estimate(parts, "a concatenation (~)")
        return join(parts)

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        if operator == "*":
            _check_repeat(left, right)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "+":
            sizes = (_length(left), _length(right))
            if None not in sizes and sum(sizes) > MAX_VALUE_CHARS:  # type: ignore[arg-type]
                raise _too_big("a concatenation (+)", sum(sizes))  # type: ignore[arg-type]
        elif operator == "%" and isinstance(left, str):
            check_format(left, right, fields=False)
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        spec = str(value.__self__)

        @functools.wraps(wrapped)
        def checked(*args: Any, **kwargs: Any) -> str:
            values = (
                *args,
                *kwargs.values(),
                *(a for m in args if isinstance(m, dict) for a in m.values()),
            )
            check_format(spec, values, fields=True)
            return wrapped(*args, **kwargs)

        return checked

    def call(
        __self,  # Jinja's own spelling, so that no keyword argument can clash
        __context: jinja2.runtime.Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):  # str and Markup methods
            _check_str_call(str(owner), getattr(__obj, "__name__", ""), args)
        return check_size(super().call(__context, __obj, *args, **kwargs), "a call")
