"""The calculator parses arithmetic itself; nothing reaches eval."""

import pytest

from router.tools.calculator import calculate
from router.tools.registry import ToolError


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("17*23", "391"),
        ("17 times 23", "391"),
        ("17 x 23", "391"),
        ("(2+3)/4", "1.25"),
        ("10 divided by 4", "2.5"),
        ("2^10", "1024"),
        ("3 squared", "9"),
        ("square root of 16", "4"),
        ("sqrt(2)", "1.414213562"),
        ("1,000 plus 5", "1005"),
        ("0.1+0.2", "0.3"),
        ("-7 mod 3", "2"),
        ("what's 5 minus 8?", None),
    ],
)
def test_arithmetic(expression: str, value: str | None) -> None:
    if value is None:
        with pytest.raises(ToolError):
            calculate(expression)
    else:
        assert calculate(expression) == value


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("1/0", "divides by zero"),
        ("2**100000", "too large"),
        ("9**9**9", "too large"),
        ("__import__('os').system('true')", "not an arithmetic expression"),
        ("open('/etc/passwd')", "not an arithmetic expression"),
        ("(1).__class__", "not an arithmetic expression"),
        ("[1, 2]", "not an arithmetic expression"),
        ("2 +", "cannot compute"),
        ("True + 1", "not an arithmetic expression"),
    ],
)
def test_unsafe_or_impossible_input_is_a_tool_error(expression: str, reason: str) -> None:
    with pytest.raises(ToolError, match=reason):
        calculate(expression)
