"""Where things are in a TOML text: the line of every table header and key, and table blocks.

tomllib and tomlkit give values, not positions. This small lexer walks a document that tomllib
already accepted and records, for each statement, its first and last line and its key path, so
that error messages can name a line and whole tables can be inserted or removed as lines (with
the comment block written directly above a header, which belongs to that table).

Example:
    >>> layout = Layout.of('# c\\n[a.b]\\nx = [\\n  1,\\n]\\n')
    >>> layout.line_of(("a", "b", "x")), layout.line_of(("a", "b", "missing"))
    (3, 2)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Literal

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

StatementKind = Literal["header", "key", "comment", "blank"]


@dataclass(frozen=True)
class Statement:
    """One statement of the document.

    Attributes:
        kind: ``"header"`` (``[table]`` or ``[[array]]``), ``"key"`` (``key = value``),
            ``"comment"`` (a line holding only a comment) or ``"blank"``.
        first: 1-based first line.
        last: 1-based last line (a multi-line array or string spans several).
        path: The table path of a header; the full path (table + key) of a key; else ``()``.
    """

    kind: StatementKind
    first: int
    last: int
    path: tuple[str, ...] = ()


def _path_of(fragment: str) -> tuple[str, ...]:
    """Key path of a header or key text, parsed by tomllib itself (quoted keys, dots)."""
    try:
        parsed: Any = tomllib.loads(fragment)
    except tomllib.TOMLDecodeError:
        return ()
    path: list[str] = []
    while isinstance(parsed, dict) and len(parsed) == 1:
        key = next(iter(parsed))
        path.append(key)
        parsed = parsed[key]
        if isinstance(parsed, list):  # [[array of tables]]
            parsed = parsed[0] if parsed else None
    return tuple(path)


class _Lexer:
    """Character scanner over a valid TOML document (lenient: it trusts tomllib's verdict)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1

    def peek(self, count: int = 1) -> str:
        return self.text[self.pos : self.pos + count]

    def advance(self, count: int = 1) -> None:
        chunk = self.text[self.pos : self.pos + count]
        self.line += chunk.count("\n")
        self.pos += len(chunk)

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip_to_eol(self) -> None:
        end = self.text.find("\n", self.pos)
        self.advance((len(self.text) if end < 0 else end) - self.pos)

    def skip_string(self) -> None:
        """Skip a string starting at the cursor (any of the four kinds)."""
        for quote in ('"""', "'''"):
            if self.peek(3) == quote:
                self.advance(3)
                while not self.at_end():
                    if quote == '"""' and self.peek() == "\\":
                        self.advance(2)
                        continue
                    if self.peek(3) == quote:
                        self.advance(3)
                        while self.peek() == quote[0]:  # up to two quotes end the content
                            self.advance()
                        return
                    self.advance()
                return
        quote = self.peek()
        self.advance()
        while not self.at_end() and self.peek() not in (quote, "\n"):
            if quote == '"' and self.peek() == "\\":
                self.advance()
            self.advance()
        self.advance()

    def skip_value(self) -> None:
        """Skip a value up to the end of its statement (nested arrays and tables included)."""
        depth = 0
        while not self.at_end():
            char = self.peek()
            if char in "\"'":
                self.skip_string()
            elif char == "#":
                self.skip_to_eol()
            elif char in "[{":
                depth += 1
                self.advance()
            elif char in "]}":
                depth -= 1
                self.advance()
            elif char == "\n":
                if depth <= 0:
                    return
                self.advance()
            else:
                self.advance()

    def read_key(self) -> str:
        """The text of a (possibly dotted, quoted) key, up to its ``=`` or closing bracket."""
        start = self.pos
        while not self.at_end() and self.peek() not in "=]\n":
            if self.peek() in "\"'":
                self.skip_string()
            else:
                self.advance()
        return self.text[start : self.pos]


@dataclass(frozen=True)
class Layout:
    """The statements of a TOML document, in order.

    Attributes:
        statements: Every statement; blank and comment lines are one statement each.
        line_count: Lines in the text (a final line without a newline counts).
    """

    statements: tuple[Statement, ...]
    line_count: int

    @classmethod
    def of(cls, text: str) -> Layout:
        """Scan ``text`` (which tomllib must already have accepted)."""
        lexer = _Lexer(text)
        statements: list[Statement] = []
        table: tuple[str, ...] = ()
        while not lexer.at_end():
            while lexer.peek() in (" ", "\t"):
                lexer.advance()
            first = lexer.line
            char = lexer.peek()
            if char in ("\n", "\r", ""):
                statements.append(Statement("blank", first, first))
            elif char == "#":
                lexer.skip_to_eol()
                statements.append(Statement("comment", first, first))
            elif char == "[":
                double = lexer.peek(2) == "[["
                lexer.advance(2 if double else 1)
                inner = lexer.read_key()
                table = _path_of(f"[{inner}]")
                lexer.skip_value()  # the closing bracket(s) and a trailing comment
                statements.append(Statement("header", first, lexer.line, table))
            else:
                key = _path_of(lexer.read_key() + "= 0")
                if lexer.peek() == "=":
                    lexer.advance()
                lexer.skip_value()
                statements.append(Statement("key", first, lexer.line, table + key))
            lexer.skip_to_eol()
            if lexer.peek() == "\n":
                lexer.advance()
        lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        return cls(tuple(statements), lines)

    def line_of(self, path: tuple[str, ...]) -> int | None:
        """First line of the header or key at ``path``, else of its nearest defined parent."""
        for length in range(len(path), 0, -1):
            prefix = path[:length]
            for statement in self.statements:
                if statement.path == prefix and statement.kind in ("header", "key"):
                    return statement.first
        return None

    def header_index(self, path: tuple[str, ...]) -> int | None:
        """Index in :attr:`statements` of the ``[path]`` header, if the table has one."""
        for index, statement in enumerate(self.statements):
            if statement.kind == "header" and statement.path == path:
                return index
        return None

    def _attached_comments(self, header: int) -> int:
        """Index of the first comment of the block written directly above ``header``."""
        start = header
        while start > 0 and self.statements[start - 1].kind == "comment":
            start -= 1
        return start

    def block(self, path: tuple[str, ...]) -> tuple[int, int] | None:
        """Lines ``(first, last)`` of the table at ``path`` as a unit, or None without header.

        The unit is: the comments directly above the header (no blank line between), the
        header, its keys and sub-tables (``[path.sub]``), up to but not including the blank
        lines and attached comments of whatever follows.
        """
        index = self.header_index(path)
        if index is None:
            return None
        start = self._attached_comments(index)
        end = index
        probe = index + 1
        while probe < len(self.statements):
            statement = self.statements[probe]
            if statement.kind == "header":
                if statement.path[: len(path)] != path:
                    break
                end = probe
            elif statement.kind == "key":
                end = probe
            elif statement.kind == "comment":
                # a comment run that leads straight into another table's header belongs to it
                run_end = probe
                while (
                    run_end + 1 < len(self.statements)
                    and self.statements[run_end + 1].kind == "comment"
                ):
                    run_end += 1
                following = (
                    self.statements[run_end + 1] if run_end + 1 < len(self.statements) else None
                )
                if (
                    following is not None
                    and following.kind == "header"
                    and following.path[: len(path)] != path
                ):
                    break
                # the table's own when it touches the line above, or more of the table follows;
                # a comment standing alone between blank lines at the end is nobody's
                if self.statements[probe - 1].kind != "blank" or self._more_of(path, run_end):
                    end = run_end
                probe = run_end
            probe += 1
        return self.statements[start].first, self.statements[end].last

    def _more_of(self, path: tuple[str, ...], index: int) -> bool:
        """True when the next non-blank statement after ``index`` belongs to the table."""
        for statement in self.statements[index + 1 :]:
            if statement.kind == "blank":
                continue
            if statement.kind == "key":
                return True
            if statement.kind == "header":
                return statement.path[: len(path)] == path
            return False
        return False

    def last_block_of(self, root: str) -> tuple[int, int] | None:
        """Lines of the last table whose path starts with ``root`` (``[root]`` or ``[root.x]``)."""
        found: tuple[int, int] | None = None
        for statement in self.statements:
            if statement.kind == "header" and statement.path[:1] == (root,):
                block = self.block(statement.path)
                if block is not None and (found is None or block[1] > found[1]):
                    found = block
        return found

    def first_header_of(self, roots: tuple[str, ...]) -> int | None:
        """Line of the first comment-or-header unit of a table whose root is one of ``roots``."""
        for index, statement in enumerate(self.statements):
            if statement.kind == "header" and statement.path[:1] in {(r,) for r in roots}:
                return self.statements[self._attached_comments(index)].first
        return None
