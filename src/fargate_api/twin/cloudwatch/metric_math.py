"""CloudWatch metric math, the subset deployment alarms use (pure: text in, number out).

The alarms that roll a deployment back compute an error *rate* from two metrics, e.g.
``IF(req_a > 0, 100 * err_a / req_a, 0)`` per target group and ``MAX([rate_a, rate_b])``
over both groups; a twin that could not run that would have no alarm to roll back on.
So the twin runs numbers, ids, ``+ - * /``, parentheses, comparisons (``> < >= <= ==
!=``, 1 or 0), ``IF(c, a[, b])``, and ``MAX``/``MIN``/``SUM``/``AVG`` of ``[a list]`` or of
one series. Anything else (``FILL``, ``METRICS()``, ``AND``, ``^``, strings, ...) raises
`MetricMathError` when the expression is *parsed*, so that the planner can say which
alarm the twin does not run, and why, before anything starts: a rollback alarm that
silently never fires would be worse than one that is listed as not run.

The twin evaluates an alarm one period at a time: each id stands for the one datapoint
of its series in that period, ``None`` when the series has none. Missing datapoints
follow CloudWatch's rules (user guide, "Metric math syntax and functions"):

* An operation over series yields a datapoint where at least one of them has one; a
  missing operand is then treated as 0 (so ``100 * err / req`` is 0 when no 5xx was
  counted but requests were). A number is no series: ``5 * m1`` is missing when ``m1``
  is. Hence an expression over only missing data is missing.
* Division by zero drops the datapoint (missing).
* ``IF``: a missing condition gives no datapoint; true with a missing value gives 0;
  false with a missing or absent third argument gives no datapoint.
* ``MAX/MIN/SUM/AVG([...])`` treat a missing member as 0 while any member has a value.

One deliberate difference: CloudWatch's ``MAX(m1)`` of a *single* series is one scalar
over the whole time range it fetched (its docs advise against it in alarms for that
reason); evaluated per period here, it is the period's own value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

SUPPORTED = (
    "numbers, ids, + - * /, parentheses, comparisons (> < >= <= == !=), IF(c, a[, b]), "
    "MAX/MIN/SUM/AVG of [a, b, ...] or of one series"
)
FUNCTIONS = frozenset(("IF", "MAX", "MIN", "SUM", "AVG"))
COMPARISONS = frozenset((">", "<", ">=", "<=", "==", "!="))

_TOKEN = re.compile(
    r"""(?:
        (?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>>=|<=|==|!=|[-+*/<>(),\[\]])
    )""",
    re.VERBOSE,
)


class MetricMathError(ValueError):
    """An expression outside the subset the twin runs, or malformed; says where and why."""


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Ref:
    id: str


@dataclass(frozen=True)
class Negative:
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str  # one of + - * / or a comparison
    left: Node
    right: Node


@dataclass(frozen=True)
class If:
    condition: Node
    then: Node
    otherwise: Node | None


@dataclass(frozen=True)
class Aggregate:
    function: str  # MAX, MIN, SUM, AVG
    members: tuple[Node, ...]
    is_list: bool  # MAX([a, b]) rather than MAX(a)


Node = Number | Ref | Negative | Binary | If | Aggregate


@dataclass(frozen=True)
class Expression:
    """A parsed expression: evaluate it with `evaluate`; ``ids`` are the query ids it reads."""

    text: str
    root: Node
    ids: frozenset[str]


@dataclass(frozen=True)
class _Token:
    kind: str  # number, word, op, end
    text: str
    at: int  # 1-based column, for messages


def _tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise _error(text, position + 1, f"{text[position]!r} is not part of the subset")
        kind = match.lastgroup or "op"
        found.append(_Token(kind, match.group(kind), position + 1))
        position = match.end()
    found.append(_Token("end", "", len(text) + 1))
    return found


def _error(text: str, column: int, why: str) -> MetricMathError:
    return MetricMathError(
        f"metric math {text!r}, character {column}: {why}; the twin runs {SUPPORTED}"
    )


class _Parser:
    """Recursive descent: comparison < additive < multiplicative < unary < primary."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.position = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.position]

    def advance(self) -> _Token:
        token = self.current
        self.position += 1
        return token

    def fail(self, why: str, token: _Token | None = None) -> MetricMathError:
        return _error(self.text, (token or self.current).at, why)

    def expect(self, op: str) -> None:
        if self.current.kind != "op" or self.current.text != op:
            found = self.current.text or "the end"
            raise self.fail(f"expected {op!r}, found {found!r}")
        self.advance()

    def parse(self) -> Node:
        if self.current.kind == "end":
            raise self.fail("the expression is empty")
        node = self.comparison()
        if self.current.kind != "end":
            raise self.fail(f"unexpected {self.current.text!r}")
        return node

    def comparison(self) -> Node:
        node = self.additive()
        while self.current.kind == "op" and self.current.text in COMPARISONS:
            op = self.advance().text
            node = Binary(op, node, self.additive())
        if self.current.kind == "word" and self.current.text.upper() in ("AND", "OR"):
            raise self.fail(f"the logical operator {self.current.text} is not supported")
        return node

    def additive(self) -> Node:
        node = self.multiplicative()
        while self.current.kind == "op" and self.current.text in "+-":
            op = self.advance().text
            node = Binary(op, node, self.multiplicative())
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while self.current.kind == "op" and self.current.text in "*/":
            op = self.advance().text
            node = Binary(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.current.kind == "op" and self.current.text == "-":
            self.advance()
            return Negative(self.unary())
        return self.primary()

    def primary(self) -> Node:
        token = self.current
        if token.kind == "number":
            self.advance()
            return Number(float(token.text))
        if token.kind == "op" and token.text == "(":
            self.advance()
            node = self.comparison()
            self.expect(")")
            return node
        if token.kind == "op" and token.text == "[":
            raise self.fail("a [list] is only allowed as the argument of MAX, MIN, SUM or AVG")
        if token.kind == "word":
            return self.word()
        found = token.text or "the end"
        raise self.fail(f"expected a number, an id or a function, found {found!r}")

    def word(self) -> Node:
        token = self.advance()
        name = token.text
        called = self.current.kind == "op" and self.current.text == "("
        if name[0].islower() and not called:
            return Ref(name)
        if called and name in FUNCTIONS:
            return self.call(name, token)
        if called and name.upper() in FUNCTIONS:
            raise self.fail(f"functions are written in upper case: {name.upper()}", token)
        if called:
            raise self.fail(f"{name}() is not supported", token)
        if name in ("AND", "OR", "NOT"):
            raise self.fail(f"the logical operator {name} is not supported", token)
        raise self.fail(f"{name!r} is not an id (ids start with a lower-case letter)", token)

    def call(self, name: str, token: _Token) -> Node:
        self.expect("(")
        if name == "IF":
            arguments = [self.comparison()]
            while self.current.kind == "op" and self.current.text == ",":
                self.advance()
                arguments.append(self.comparison())
            self.expect(")")
            if len(arguments) not in (2, 3):
                raise self.fail(f"IF takes 2 or 3 arguments, not {len(arguments)}", token)
            otherwise = arguments[2] if len(arguments) == 3 else None
            return If(arguments[0], arguments[1], otherwise)
        if self.current.kind == "op" and self.current.text == "[":
            self.advance()
            members = [self.comparison()]
            while self.current.kind == "op" and self.current.text == ",":
                self.advance()
                members.append(self.comparison())
            self.expect("]")
            self.expect(")")
            return Aggregate(name, tuple(members), is_list=True)
        member = self.comparison()
        if self.current.kind == "op" and self.current.text == ",":
            raise self.fail(f"{name} takes one series or one [list]; write {name}([a, b])")
        self.expect(")")
        return Aggregate(name, (member,), is_list=False)


def _ids(node: Node) -> set[str]:
    match node:
        case Number():
            return set()
        case Ref(id=name):
            return {name}
        case Negative(operand=operand):
            return _ids(operand)
        case Binary(left=left, right=right):
            return _ids(left) | _ids(right)
        case If(condition=condition, then=then, otherwise=otherwise):
            found = _ids(condition) | _ids(then)
            return found | _ids(otherwise) if otherwise is not None else found
        case Aggregate(members=members):
            return set().union(*(_ids(m) for m in members))


def parse(text: str) -> Expression:
    """The expression, or `MetricMathError` naming the first thing outside the subset."""
    root = _Parser(text).parse()
    return Expression(text, root, frozenset(_ids(root)))


def _is_series(node: Node) -> bool:
    """Whether the node's value comes from a series (and so may be missing), not a number."""
    return bool(_ids(node))


_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    ">": lambda a, b: float(a > b),
    "<": lambda a, b: float(a < b),
    ">=": lambda a, b: float(a >= b),
    "<=": lambda a, b: float(a <= b),
    "==": lambda a, b: float(a == b),
    "!=": lambda a, b: float(a != b),
}
_AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "MAX": max,
    "MIN": min,
    "SUM": sum,
    "AVG": lambda values: sum(values) / len(values),
}


def _binary(node: Binary, values: Mapping[str, float | None]) -> float | None:
    left, right = _value(node.left, values), _value(node.right, values)
    if left is None and right is None:
        return None
    if left is None or right is None:
        # One operand has a datapoint here: a missing *series* counts as 0; against a
        # plain number there is no datapoint at all.
        if not (_is_series(node.left) and _is_series(node.right)):
            return None
        left, right = left or 0.0, right or 0.0
    if node.op == "/":
        return None if right == 0 else left / right
    return _ARITHMETIC[node.op](left, right)


def _value(node: Node, values: Mapping[str, float | None]) -> float | None:
    match node:
        case Number(value=number):
            return number
        case Ref(id=name):
            if name not in values:
                raise MetricMathError(f"metric math: no query with id {name!r}")
            return values[name]
        case Negative(operand=operand):
            inner = _value(operand, values)
            return None if inner is None else -inner
        case Binary():
            return _binary(node, values)
        case If(condition=condition, then=then, otherwise=otherwise):
            test = _value(condition, values)
            if test is None:
                return None
            if test != 0:
                chosen = _value(then, values)
                return 0.0 if chosen is None else chosen
            return None if otherwise is None else _value(otherwise, values)
        case Aggregate(function=function, members=members):
            found = [_value(member, values) for member in members]
            if all(v is None for v in found):
                return None
            return _AGGREGATES[function]([0.0 if v is None else v for v in found])


def evaluate(expression: Expression | str, values: Mapping[str, float | None]) -> float | None:
    """The expression's datapoint given each id's datapoint (None: missing), or None.

    An id the expression reads but ``values`` lacks is a `MetricMathError` (the alarm
    names a query that does not exist), not missing data.
    """
    parsed = parse(expression) if isinstance(expression, str) else expression
    return _value(parsed.root, values)
