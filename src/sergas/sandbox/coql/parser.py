"""COQL's tokenizer and recursive-descent parser: text in, a `Query` out.

Hand-written rather than generated from a grammar (lark would parse the same language):
Zoho answers each kind of mistake with its own code, message and details, and which one
depends on where the parser stands — `SYNTAX_ERROR` with the text `near` the failure,
`missing clause` naming the clause (`from`, `where`, `limit`, `offset`), `INVALID_QUERY` for
a LIMIT or OFFSET that is not a whole number, `given coql query not supported` for DML words,
`operator not supported` for a leading `not`, `INVALID_DATA` for an unknown aggregate. A
grammar library reports "unexpected token, expected one of …"; mapping that back to Zoho's
answer per position would take as much code as this parser, which is small, looks at most
three tokens ahead and never backtracks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sergas.sandbox.coql.query import (
    AGGREGATES,
    BoolOp,
    Condition,
    Node,
    OrderItem,
    Query,
    SelectItem,
)
from sergas.sandbox.errors import InvalidData, InvalidQuery, SyntaxErrorCoql, ZohoError

_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>-?\d+(?:\.\d+)?(?![A-Za-z_$]))
  | (?P<ident>[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*)
  | (?P<op>>=|<=|!=|<>|=|>|<)
  | (?P<punct>[(),;#])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # ident | number | string | op | punct | eof
    text: str
    value: Any
    pos: int

    def word(self) -> str:
        return self.text.lower() if self.kind == "ident" else ""


def _syntax(near: str) -> ZohoError:
    return SyntaxErrorCoql(details={"near": near})


def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    length = len(query)
    while pos < length:
        char = query[pos]
        if char == "'":
            chars: list[str] = []
            end = pos + 1
            while True:
                if end >= length:
                    raise _syntax(query[pos : pos + 30])
                current = query[end]
                if current == "\\" and end + 1 < length and query[end + 1] in "'\\":
                    chars.append(query[end + 1])
                    end += 2
                elif current == "'":
                    end += 1
                    break
                else:
                    chars.append(current)
                    end += 1
            tokens.append(_Token("string", query[pos:end], "".join(chars), pos))
            pos = end
            continue
        match = _TOKEN_RE.match(query, pos)
        if match is None:
            raise _syntax(query[pos : pos + 30].split()[0] if query[pos:].strip() else char)
        kind = match.lastgroup or ""
        text = match.group()
        if kind != "space":
            tokens.append(_Token(kind, text, text, pos))
        pos = match.end()
    tokens.append(_Token("eof", "", None, length))
    return tokens


class Parser:
    def __init__(self, query: str) -> None:
        self.tokens = _tokenize(query)
        self.index = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "eof":
            self.index += 1
        return token

    def at(self, *words: str) -> bool:
        """Whether the next tokens are these keywords."""
        for offset, word in enumerate(words):
            position = self.index + offset
            if position >= len(self.tokens) or self.tokens[position].word() != word:
                return False
        return True

    def accept(self, *words: str) -> bool:
        if self.at(*words):
            self.index += len(words)
            return True
        return False

    def punct(self, char: str) -> bool:
        if self.token.kind == "punct" and self.token.text == char:
            self.index += 1
            return True
        return False

    def expect_punct(self, char: str) -> None:
        if not self.punct(char):
            raise _syntax(self.token.text or char)

    def fail(self) -> ZohoError:
        return _syntax(self.token.text or (self.tokens[self.index - 1].text if self.index else ""))

    # select ... from ...

    def parse(self) -> Query:
        if not self.accept("select"):
            if self.token.kind == "ident" and self.token.word() in (
                "insert",
                "update",
                "delete",
                "create",
                "drop",
                "alter",
            ):
                raise SyntaxErrorCoql("given coql query not supported")
            raise self.fail()
        items = self.select_items()
        if not self.accept("from"):
            if self.token.kind == "eof":
                raise SyntaxErrorCoql("missing clause", {"clause": "from"})
            raise self.fail()
        if self.token.kind != "ident" or "." in self.token.text:
            raise self.fail()
        module = self.advance().text
        if self.punct("#"):
            # Custom views (`from Module#cvid`) are not part of the sandbox.
            raise InvalidQuery("invalid cvid given", {"cvid": self.token.text})
        query = Query(items, module)
        if self.accept("where"):
            if self.token.kind == "eof":
                raise SyntaxErrorCoql("missing clause", {"clause": "where"})
            query.where = self.expression(query)
        if self.accept("group", "by"):
            query.group_by = self.column_list()
        if self.accept("order", "by"):
            query.order_by = self.order_items()
        if self.accept("limit"):
            self.limit_clause(query)
        elif self.accept("offset"):
            query.offset = self.offset_value(self.limit_value("offset"))
        self.punct(";")
        if self.token.kind != "eof":
            raise self.fail()
        return query

    def column_name(self) -> str:
        if self.token.kind != "ident" or self.token.word() in RESERVED:
            raise self.fail()
        return self.advance().text

    def select_items(self) -> list[SelectItem]:
        items: list[SelectItem] = []
        while True:
            start = self.token
            if start.kind == "string":
                # Zoho's documented alias form quotes the column: 'Last_Name' as 'name'.
                column, aggregate = self.advance().value, None
            else:
                column = self.column_name()
                aggregate = None
                if self.punct("("):
                    aggregate = column
                    column = self.column_name()
                    self.expect_punct(")")
                    if aggregate not in AGGREGATES:
                        raise InvalidData(
                            details={
                                "reason": "unsupported aggregate function",
                                "column": f"{aggregate}({column})",
                            }
                        )
            text = f"{aggregate}({column})" if aggregate else column
            alias = None
            if self.accept("as"):
                if self.token.kind not in ("ident", "string"):
                    raise self.fail()
                alias = str(self.advance().value)
            items.append(SelectItem(column, aggregate, alias, text))
            if not self.punct(","):
                return items

    def column_list(self) -> list[str]:
        columns = [self.column_name()]
        while self.punct(","):
            columns.append(self.column_name())
        return columns

    def order_items(self) -> list[OrderItem]:
        items: list[OrderItem] = []
        while True:
            column = self.column_name()
            aggregate = None
            if self.punct("("):
                aggregate = column
                column = self.column_name()
                self.expect_punct(")")
            descending = False
            if self.accept("desc"):
                descending = True
            else:
                self.accept("asc")
            items.append(OrderItem(column, aggregate, descending))
            if not self.punct(","):
                return items

    def limit_clause(self, query: Query) -> None:
        first = self.limit_value("limit")
        if self.punct(","):
            query.offset = self.offset_value(first)
            query.limit = self.limit_value("limit")
        else:
            query.limit = first
            if self.accept("offset"):
                query.offset = self.offset_value(self.limit_value("offset"))

    def limit_value(self, what: str) -> int:
        token = self.advance()
        if token.kind == "eof":
            raise SyntaxErrorCoql("missing clause", {"clause": what})
        if token.kind != "number" or "." in token.text:
            details = {what: token.value if token.kind == "string" else token.text}
            raise InvalidQuery(f"{what} given seems to be invalid", details)
        return int(token.text)

    @staticmethod
    def offset_value(value: int) -> int:
        if value < 0:
            raise InvalidQuery("offset given seems to be invalid", {"offset": value})
        return value

    # where

    def expression(self, query: Query) -> Node:
        """At most two conditions per bracket level: `a and b and c` is Zoho's SYNTAX_ERROR
        (it wants `(a and b) and c`), and so is `a and b or c`."""
        first = self.primary(query)
        if not self.at("and") and not self.at("or"):
            return first
        operator = self.advance().word()
        second = self.primary(query)
        if self.at("and") or self.at("or"):
            raise _syntax(self.token.text)
        return BoolOp(operator, [first, second])

    def primary(self, query: Query) -> Node:
        if self.punct("("):
            node = self.expression(query)
            self.expect_punct(")")
            return node
        if self.at("not"):
            raise SyntaxErrorCoql("operator not supported", {"operator": "not"})
        condition = self.condition()
        query.criteria += 1
        return condition

    def condition(self) -> Condition:
        column = self.column_name()
        token = self.token
        if token.kind == "op":
            self.advance()
            operator = "!=" if token.text == "<>" else token.text
            return Condition(column, operator, self.value(), token.text)
        if self.accept("is", "not", "null"):
            return Condition(column, "is not null", None, "is not null")
        if self.accept("is", "null"):
            return Condition(column, "is null", None, "is null")
        negated = self.accept("not")
        word = self.token.word()
        prefix = "not " if negated else ""
        if word == "like":
            self.advance()
            pattern = self.token
            if pattern.kind != "string":
                raise self.fail()
            self.advance()
            return Condition(column, prefix + "like", pattern.value, prefix + "like")
        if word == "in":
            self.advance()
            self.expect_punct("(")
            values = [self.value()]
            while self.punct(","):
                values.append(self.value())
            self.expect_punct(")")
            return Condition(column, prefix + "in", values, prefix + "in")
        if word == "between":
            self.advance()
            low = self.value()
            if not self.accept("and"):
                raise self.fail()
            return Condition(column, prefix + "between", (low, self.value()), prefix + "between")
        raise self.fail()

    def value(self) -> Any:
        token = self.token
        if token.kind in ("string", "number"):
            self.advance()
            return token.value
        if token.word() in ("true", "false"):
            self.advance()
            return token.word()
        raise self.fail()


RESERVED = frozenset(
    {
        "select",
        "from",
        "where",
        "and",
        "or",
        "not",
        "like",
        "in",
        "between",
        "is",
        "null",
        "order",
        "group",
        "by",
        "asc",
        "desc",
        "limit",
        "offset",
        "as",
    }
)
