"""Liberty Boolean functions (a pin's ``function``, a flip-flop's ``next_state``): parsed once,
then evaluated (internal-power sensitivities, model proofs) or written as Verilog (cell models).

liberty-parser returns these as plain strings, hence this small parser. The grammar is the
Liberty reference's: ``'`` (postfix) and ``!`` negate, then ``^``, then ``&``, ``*`` or a
space (and), then ``|`` or ``+`` (or); parentheses; constants ``0`` and ``1``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from econflow.errors import FormatError

_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z_0-9\[\]]*|[01]|[!'&*|+^()])")
_VERILOG = {"and": " & ", "or": " | ", "xor": " ^ "}


@dataclass(frozen=True)
class Expr:
    """``op`` is var, const, not, and, or or xor; ``name`` a variable's, or "0"/"1"."""

    op: str
    args: tuple[Expr, ...] = ()
    name: str = ""

    def evaluate(self, values: Mapping[str, bool]) -> bool:
        if self.op == "var":
            return values[self.name]
        if self.op == "const":
            return self.name == "1"
        results = [a.evaluate(values) for a in self.args]
        if self.op == "not":
            return not results[0]
        if self.op == "and":
            return all(results)
        if self.op == "or":
            return any(results)
        return sum(results) % 2 == 1

    def verilog(self, rename: Callable[[str], str] = str) -> str:
        if self.op == "var":
            return rename(self.name)
        if self.op == "const":
            return f"1'b{self.name}"
        if self.op == "not":
            return f"~{self.args[0].verilog(rename)}"
        return "(" + _VERILOG[self.op].join(a.verilog(rename) for a in self.args) + ")"

    def variables(self) -> set[str]:
        if self.op == "var":
            return {self.name}
        return set().union(*(a.variables() for a in self.args))

    def literal(self) -> tuple[str, bool] | None:
        """(variable, active level) when the expression is ``X`` or ``!X``, else None."""
        if self.op == "var":
            return self.name, True
        if self.op == "not" and self.args[0].op == "var":
            return self.args[0].name, False
        return None


def parse(text: str) -> Expr:
    """Raises FormatError naming the text when it is not a liberty function."""
    tokens = _tokens(text)
    parser = _Parser(tokens, text)
    expr = parser.disjunction()
    if parser.position != len(tokens):
        raise FormatError(f"liberty function {text!r}: unexpected {tokens[parser.position]!r}")
    return expr


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    stripped = text.strip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None:
            raise FormatError(f"liberty function {text!r}: cannot read {stripped[position:]!r}")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[str], text: str) -> None:
        self.tokens, self.text, self.position = tokens, text, 0

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise FormatError(f"liberty function {self.text!r} ends early")
        self.position += 1
        return token

    def _chain(self, op: str, symbols: tuple[str, ...], operand: Callable[[], Expr]) -> Expr:
        args = [operand()]
        while self._peek() in symbols:
            self._take()
            args.append(operand())
        return args[0] if len(args) == 1 else Expr(op, tuple(args))

    def disjunction(self) -> Expr:
        return self._chain("or", ("|", "+"), self.conjunction)

    def conjunction(self) -> Expr:
        args = [self.exclusive()]
        while True:
            token = self._peek()
            if token in ("&", "*"):
                self._take()
            elif token is None or token in ("|", "+", ")", "^", "'"):
                break
            args.append(self.exclusive())  # an explicit or implicit (space) and
        return args[0] if len(args) == 1 else Expr("and", tuple(args))

    def exclusive(self) -> Expr:
        return self._chain("xor", ("^",), self.negation)

    def negation(self) -> Expr:
        if self._peek() == "!":
            self._take()
            return Expr("not", (self.negation(),))
        expr = self.primary()
        while self._peek() == "'":
            self._take()
            expr = Expr("not", (expr,))
        return expr

    def primary(self) -> Expr:
        token = self._take()
        if token == "(":
            expr = self.disjunction()
            if self._take() != ")":
                raise FormatError(f"liberty function {self.text!r}: unbalanced parentheses")
            return expr
        if token in ("0", "1"):
            return Expr("const", name=token)
        if token[0].isalpha() or token[0] == "_":
            return Expr("var", name=token)
        raise FormatError(f"liberty function {self.text!r}: unexpected {token!r}")
