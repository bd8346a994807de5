"""Calculator: arithmetic by a small parser over Python's AST, never `eval`."""

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

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "sqrt": math.sqrt,
    "abs": abs,
    "round": round,
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
    (r"\bsquare root of\b", "sqrt "),
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


def _evaluate(node: ast.AST) -> float:
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
            left_value, right_value = _evaluate(left), _evaluate(right)
            if isinstance(op, ast.Pow) and (
                abs(right_value) > MAX_EXPONENT or abs(left_value) > MAX_POWER_BASE
            ):
                raise ToolError("that exponent is too large to compute")
            return _BINARY[type(op)](left_value, right_value)
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
    except (SyntaxError, ValueError, TypeError, OverflowError) as exc:
        raise ToolError(f"cannot compute {expression!r}: {exc.__class__.__name__}") from None


def _spoken_sum(match: re.Match[str], _ui: object) -> dict[str, str] | None:
    """Arguments for "what's 12 times 7" when it really is arithmetic, else None."""
    expression = spoken_numbers_to_digits(match["expression"])
    if not re.search(r"\d", expression) or not re.search(
        r"[-+*/x^%]|times|plus|minus|over|divided", expression
    ):
        return None
    try:
        calculate(expression)
    except ToolError:
        return None
    return {"expression": expression}


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


@tool(
    "Compute arithmetic exactly. Use for any maths, never compute in your head.",
    phrasings=(
        phrase(
            r"(?:what's|whats|what is|how much is|calculate|compute) (?P<expression>.+)",
            _spoken_sum,
            _say_sum,
        ),
    ),
)
async def calculator(args: CalculatorArgs, ctx: ToolContext) -> str:
    return f"{args.expression} = {calculate(args.expression)}"


TOOLS = [calculator]
