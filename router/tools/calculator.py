"""Calculator: arithmetic by a small parser over Python's AST, never `eval`.

Every operation is bounded by its inputs, so no expression (at most 200 characters) costs more
than microseconds: integers stay exact only up to `MAX_EXACT_DIGITS` digits and become floats
beyond (which overflow to an error, never to a huge number); `round` takes at most 15 digits;
results must be real and finite (`(-8)**(1/3)` is refused, not spoken as a complex number).
"""

import ast
import math
import operator
import re
from collections.abc import Callable

from pydantic import BaseModel, Field

from router.tools.registry import ToolContext, ToolError, phrase, tool
from router.tools.spoken import spoken_numbers_to_digits

MAX_EXPRESSION_CHARS = 200
MAX_EXPONENT = 1000
MAX_POWER_BASE = 1e100
MAX_RESULT_DIGITS = 60
MAX_EXACT_DIGITS = 40
"""Integers beyond this many digits are computed as floats: exact arithmetic on huge integers
(a product of powers, a division of them) is what costs seconds of CPU."""
MAX_ROUND_DIGITS = 15


def _power(base: float, exponent: float) -> float:
    if abs(exponent) > MAX_EXPONENT or abs(base) > MAX_POWER_BASE:
        raise ToolError("that exponent is too large to compute")
    if isinstance(base, int) and isinstance(exponent, int) and exponent >= 0:
        if exponent * math.log10(abs(base) or 1) <= MAX_EXACT_DIGITS:
            return base**exponent
    try:
        return math.pow(base, exponent)
    except ValueError:
        raise ToolError("that has no real result") from None


def _round(value: float, digits: float = 0) -> float:
    if not isinstance(digits, int) or abs(digits) > MAX_ROUND_DIGITS:
        raise ToolError(f"round takes a whole number of digits up to {MAX_ROUND_DIGITS}")
    return round(value, digits)


_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "sqrt": math.sqrt,
    "abs": abs,
    "round": _round,
    "log": math.log,
    "log10": math.log10,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}

_SPOKEN = [
    (r"\bmultiplied by\b|\btimes\b|×|\bx\b", "*"),
    (r"\bdivided by\b|\bover\b|÷", "/"),
    (r"\bplus\b", "+"),
    (r"\bminus\b", "-"),
    (r"\bto the power of\b|\^", "**"),
    (r"\bsquared\b", "**2"),
    (r"\bcubed\b", "**3"),
    (r"\bmod(?:ulo)?\b", "%"),
    (r"\b(?:the )?(?:square )?root of\b", "sqrt "),
    (r"(\d+(?:\.\d+)?) ?(?:percent|%) of\b", r"\1/100*"),
    (r"(\d),(\d{3})\b", r"\1\2"),
]


class CalculatorArgs(BaseModel):
    expression: str = Field(
        max_length=MAX_EXPRESSION_CHARS,
        description="Arithmetic such as '17*23', '(2+3)/4', 'sqrt(2)', '2**10'.",
    )


def _normalise(expression: str) -> str:
    text = expression.lower().strip().rstrip("?=").strip()
    for pattern, replacement in _SPOKEN:
        text = re.sub(pattern, replacement, text)
    return re.sub(r"\bsqrt\s+(\d+(?:\.\d+)?)", r"sqrt(\1)", text)


def _bounded(value: float) -> float:
    """The value, as a float when it is an integer too long to keep exact; only real numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolError("the result is not a real number")
    if isinstance(value, int) and abs(value) >= 10**MAX_EXACT_DIGITS:
        return float(value)  # OverflowError beyond 1e308, reported as an error
    return value


def _evaluate(node: ast.AST) -> float:
    return _bounded(_evaluate_node(node))


def _evaluate_node(node: ast.AST) -> float:
    match node:
        case ast.Expression(body=body):
            return _evaluate(body)
        case ast.Constant(value=value) if isinstance(value, int | float) and not isinstance(
            value, bool
        ):
            return value
        case ast.Name(id=name) if name in _CONSTANTS:
            return _CONSTANTS[name]
        case ast.UnaryOp(op=op, operand=operand) if type(op) in _UNARY:
            return _UNARY[type(op)](_evaluate(operand))
        case ast.BinOp(left=left, op=op, right=right) if type(op) in _BINARY:
            return _BINARY[type(op)](_evaluate(left), _evaluate(right))
        case ast.Call(func=ast.Name(id=name), args=args, keywords=[]) if name in _FUNCTIONS:
            return _FUNCTIONS[name](*(_evaluate(arg) for arg in args))
    raise ToolError("that is not an arithmetic expression I can compute")


def _format(value: float) -> str:
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ToolError("the result is not a finite number")
        if value.is_integer() and abs(value) < 1e15:
            value = int(value)
        else:
            return f"{value:.10g}"
    text = str(value)
    if len(text) > MAX_RESULT_DIGITS:
        return f"{float(value):.10g}"
    return text


def calculate(expression: str) -> str:
    """The value of an arithmetic expression as text, or ToolError explaining why not."""
    try:
        tree = ast.parse(_normalise(expression), mode="eval")
        return _format(_evaluate(tree))
    except ToolError:
        raise
    except ZeroDivisionError:
        raise ToolError("that divides by zero") from None
    except OverflowError:
        raise ToolError("the result is too large to compute") from None
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError) as exc:
        raise ToolError(f"cannot compute {expression!r}: {exc.__class__.__name__}") from None


def _spoken_sum(match: re.Match[str], _ui: object) -> dict[str, str] | None:
    """Arguments for "what's 12 times 7" when it really is arithmetic, else None."""
    expression = spoken_numbers_to_digits(match["expression"])
    if not re.search(r"\d", expression) or not re.search(r"[-+*/%]|sqrt", _normalise(expression)):
        return None
    return _calculable(expression)


def _say_sum(result: str) -> str:
    expression, _, value = result.partition(" = ")
    for symbol, word in (
        ("**", " to the power of "),
        ("*", " times "),
        ("/", " divided by "),
        ("+", " plus "),
        ("-", " minus "),
    ):
        expression = expression.replace(symbol, word)
    return f"{' '.join(expression.split())} is {value}."


def _bare_sum(match: re.Match[str], ui: object) -> dict[str, str] | None:
    """Arguments for an utterance that is arithmetic and nothing else ("twelve times
    thirteen", "seven squared", "root of 81"): every word a number or an operator."""
    expression = spoken_numbers_to_digits(match["expression"])
    if not re.fullmatch(r"[\d\s.+\-*/%()]+", re.sub(r"\bsqrt\b", "", _normalise(expression))):
        return None
    if not re.search(r"[-+*/%]|sqrt", _normalise(expression)):
        return None
    return _calculable(expression)


def _calculable(expression: str) -> dict[str, str] | None:
    try:
        calculate(expression)
    except ToolError:
        return None
    return {"expression": expression}


@tool(
    "Compute arithmetic exactly. Use for any maths, never compute in your head.",
    phrasings=(
        phrase(
            r"(?:what's|whats|what is|how much is|calculate|compute) (?P<expression>.+)",
            _spoken_sum,
            _say_sum,
        ),
        phrase(
            # Only what says an operator is worth reading number by number (~40 µs).
            r"(?=.*\b(?:times|plus|minus|divided|over|squared|cubed|root|power|percent|mod|x)\b)"
            r"(?P<expression>[a-z0-9. ]{3,80})",
            _bare_sum,
            _say_sum,
        ),
    ),
    reads_only=True,
)
async def calculator(args: CalculatorArgs, ctx: ToolContext) -> str:
    return f"{args.expression} = {calculate(args.expression)}"


TOOLS = [calculator]
