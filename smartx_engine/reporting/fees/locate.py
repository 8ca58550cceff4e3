"""Where each key and value of a TOML file is written, so that errors can point at it.

``tomllib`` parses a file but forgets positions. :func:`locate` scans a source that ``tomllib``
has already accepted and returns, for each key path (``("schedules", "std", "platform",
"tiers", 1, "rate")``: table keys as strings, array items as ints), the :class:`Span` of the key
(for a table header, of its last name) and of the value. It follows TOML 1.0: table headers,
arrays of tables, dotted and quoted keys, inline tables, arrays over several lines, every string
form and comments. On anything it does not follow it stops and keeps what it found: positions
are a help to the reader, never needed to load a file.
"""

from __future__ import annotations

import bisect
import re
import tomllib

import attrs

Path = tuple[str | int, ...]
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = re.compile(r"[,\]}\n#]")


@attrs.frozen
class Span:
    """A place in the source: 1-based line and column, and the width on that line."""

    line: int
    column: int
    width: int
    snippet: str  # the whole source line


@attrs.frozen
class Positions:
    """The spans of the keys and values of one TOML source."""

    keys: dict[Path, Span]
    values: dict[Path, Span]

    def key(self, path: Path) -> Span | None:
        """The key of ``path``, else the nearest enclosing key or value that was found."""
        return self._nearest(path, self.keys)

    def value(self, path: Path) -> Span | None:
        """The value of ``path``, else its key, else the nearest enclosing one."""
        return self.values.get(tuple(path)) or self._nearest(path, self.keys)

    def _nearest(self, path: Path, first: dict[Path, Span]) -> Span | None:
        path = tuple(path)
        while path:
            span = first.get(path) or self.keys.get(path) or self.values.get(path)
            if span is not None:
                return span
            path = path[:-1]
        return None


class _Stop(Exception):
    """The scanner met something it does not follow; it keeps what it found."""


class _Scanner:
    def __init__(self, source: str):
        self.text = source
        self.i = 0
        self.lines = source.split("\n")
        self.starts = [0]
        for line in self.lines[:-1]:
            self.starts.append(self.starts[-1] + len(line) + 1)
        self.keys: dict[Path, Span] = {}
        self.values: dict[Path, Span] = {}
        self.array_counts: dict[Path, int] = {}  # arrays of tables: path -> items so far

    # -------------------------------------------------------------- helpers

    def span(self, start: int, end: int) -> Span:
        line = bisect.bisect_right(self.starts, start) - 1
        text = self.lines[line]
        column = start - self.starts[line]
        width = max(1, min(end, self.starts[line] + len(text)) - start)
        return Span(line + 1, column + 1, width, text.rstrip("\r"))

    def peek(self, count: int = 1) -> str:
        return self.text[self.i:self.i + count]

    def skip_blank(self, newlines: bool) -> None:
        while self.i < len(self.text):
            char = self.text[self.i]
            if char in " \t\r" or (newlines and char == "\n"):
                self.i += 1
            elif char == "#":
                end = self.text.find("\n", self.i)
                self.i = len(self.text) if end < 0 else end
            else:
                return

    def expect(self, literal: str) -> None:
        if not self.text.startswith(literal, self.i):
            raise _Stop
        self.i += len(literal)

    # -------------------------------------------------------------- keys and strings

    def string(self) -> str:
        """Skip a string of any form at ``i``; its (unescaped enough) content."""
        for quote in ('"""', "'''"):
            if self.text.startswith(quote, self.i):
                end = self.text.find(quote, self.i + 3)
                if end < 0:
                    raise _Stop
                while self.text.startswith(quote[0], end + 3):  # up to two quotes may end the content
                    end += 1
                content = self.text[self.i + 3:end]
                self.i = end + 3
                return content
        quote = self.text[self.i]
        j = self.i + 1
        while j < len(self.text) and self.text[j] != quote:
            if self.text[j] == "\n":
                raise _Stop
            j += 2 if quote == '"' and self.text[j] == "\\" else 1
        raw = self.text[self.i:j + 1]
        self.i = j + 1
        return tomllib.loads(f"k = {raw}")["k"] if quote == '"' and "\\" in raw else raw[1:-1]

    def key(self) -> list[tuple[str, int, int]]:
        """A dotted key at ``i``: each part with its start and end."""
        parts = []
        while True:
            self.skip_blank(newlines=False)
            start = self.i
            if self.peek() in ('"', "'"):
                name = self.string()
            else:
                found = _BARE_KEY.match(self.text, self.i)
                if not found:
                    raise _Stop
                name, self.i = found.group(), found.end()
            parts.append((name, start, self.i))
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return parts
            self.i += 1

    def resolve(self, names: list[str]) -> Path:
        """A header's path, with the current item of each array of tables it passes through."""
        path: Path = ()
        for name in names:
            path += (name,)
            if path in self.array_counts:
                path += (self.array_counts[path] - 1,)
        return path

    def header_keys(self, parts: list[tuple[str, int, int]]) -> None:
        """Each table a header names, the first time it is named: ``[a.b.c]`` names a, a.b and a.b.c."""
        for count in range(1, len(parts) + 1):
            name, start, end = parts[count - 1]
            self.keys.setdefault(self.resolve([p[0] for p in parts[:count]]), self.span(start, end))

    # -------------------------------------------------------------- the document

    def document(self) -> None:
        table: Path = ()
        while True:
            self.skip_blank(newlines=True)
            if self.i >= len(self.text):
                return
            if self.text.startswith("[[", self.i):
                self.i += 2
                parts = self.key()
                self.expect("]]")
                names = [p[0] for p in parts]
                self.header_keys(parts)
                base = self.resolve(names[:-1]) + (names[-1],)
                count = self.array_counts.get(base, 0)
                self.array_counts[base] = count + 1
                table = base + (count,)
                self.keys.setdefault(base, self.span(parts[-1][1], parts[-1][2]))
                self.keys[table] = self.span(parts[-1][1], parts[-1][2])
            elif self.peek() == "[":
                self.i += 1
                parts = self.key()
                self.expect("]")
                table = self.resolve([p[0] for p in parts])
                self.header_keys(parts)
            else:
                self.pair(table)

    def pair(self, table: Path) -> None:
        parts = self.key()
        path = table
        for name, start, end in parts:
            path += (name,)
            self.keys.setdefault(path, self.span(start, end))
        self.skip_blank(newlines=False)
        self.expect("=")
        self.skip_blank(newlines=False)
        self.value(path)

    def value(self, path: Path) -> None:
        start = self.i
        char = self.peek()
        if char == "{":
            self.i += 1
            self.skip_blank(newlines=False)
            while self.peek() != "}":
                self.pair(path)
                self.skip_blank(newlines=False)
                if self.peek() == ",":
                    self.i += 1
                    self.skip_blank(newlines=False)
            self.i += 1
            self.values[path] = self.span(start, self.i)
        elif char == "[":
            self.i += 1
            index = 0
            while True:
                self.skip_blank(newlines=True)
                if self.peek() == "]":
                    break
                self.value(path + (index,))
                index += 1
                self.skip_blank(newlines=True)
                if self.peek() == ",":
                    self.i += 1
            self.i += 1
            self.values[path] = self.span(start, self.i)
        elif char in ('"', "'"):
            self.string()
            self.values[path] = self.span(start, self.i)
        elif char:
            found = _SCALAR_END.search(self.text, self.i)
            end = len(self.text) if found is None else found.start()
            self.i = end
            while end > start and self.text[end - 1] in " \t\r":
                end -= 1
            self.values[path] = self.span(start, end)
        else:
            raise _Stop


def locate(source: str) -> Positions:
    """The spans of every key and value of a TOML ``source`` (one ``tomllib`` accepted)."""
    scanner = _Scanner(source)
    try:
        scanner.document()
    except (_Stop, IndexError, tomllib.TOMLDecodeError):
        pass
    return Positions(scanner.keys, scanner.values)
