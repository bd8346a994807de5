"""Scoring a model's tool decisions against the labelled cases: whole values must match, after
normalising case, punctuation and number words; a list in a case names every right value."""

import json
import math
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from router.tools import DELEGATION, FAMILIES
from router.tools.calculator import calculate
from router.tools.registry import ToolError
from router.tools.spoken import spoken_numbers_to_digits

NO_TOOL = "none"
DELEGATE = "bot_openclaw_task"
ABSTAIN = "abstain"
"""The family of cases tier 0 must leave to the model (compound, near-miss, ambiguous on the
screen), whatever tool a model should call for them."""


TOOL_FAMILY = {
    **{item.name: name for name, module in FAMILIES.items() for item in module.TOOLS},
    **{item.name: "delegation" for item in DELEGATION.TOOLS},
    NO_TOOL: NO_TOOL,
}
"""Each tool's family, for route accuracy: the right family (or delegation, or no tool)
whatever the tool within it."""


@dataclass(frozen=True)
class Case:
    """One labelled utterance: the tool it should trigger (or `none`) and key arguments."""

    id: str
    family: str
    text: str
    expect: str
    args: dict[str, Any] = field(default_factory=dict)
    category: str | None = None
    screen: dict[str, Any] | None = None
    """The screen the command is said on (a partial `UiState`; default: idle), for commands
    whose meaning depends on what is playing or open."""

    @property
    def simple(self) -> bool:
        """A single command a fast tool carries out: what tier 0 may answer. Abstain cases,
        chit-chat and delegation are not."""
        return self.family != ABSTAIN and self.expect not in (NO_TOOL, DELEGATE)


@dataclass
class Decision:
    """What the model decided for one case."""

    tool: str = NO_TOOL
    arguments: dict[str, Any] = field(default_factory=dict)
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = None
    call_from_text: bool = False
    """The server wrote the call as text (recovered by the router), not as native tool_calls."""


def load_cases(path: Path) -> list[Case]:
    return [Case(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def _normalise(text: str) -> str:
    """Case, punctuation and spacing dropped, number words as digits: "To-Do" → "to do"."""
    words = re.sub(r"[^\w\s.]|(?<!\d)\.|\.(?!\d)|_", " ", text.casefold())
    return spoken_numbers_to_digits(" ".join(words.split()))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().lstrip("+"))
        except ValueError:
            return None
    return None


def value_matches(key: str, expected: Any, actual: Any) -> bool:
    """Whole-value comparison: alternatives, case, punctuation and number words aside, number
    formats, arithmetic that evaluates to the same value."""
    if isinstance(expected, list):
        return any(value_matches(key, option, actual) for option in expected)
    if actual is None:
        return False
    if isinstance(expected, bool):
        if isinstance(actual, str):
            return actual.strip().casefold() == str(expected).casefold()
        return actual is expected
    if isinstance(expected, int | float):
        number = _number(actual)
        return number is not None and math.isclose(number, expected, abs_tol=1e-6)
    if key == "expression":
        try:
            return math.isclose(float(calculate(str(actual))), float(calculate(expected)))
        except (ToolError, ValueError):
            return False
    return _normalise(expected) == _normalise(str(actual))


def arguments_match(expected: dict[str, Any], actual: dict[str, Any]) -> bool:
    return all(value_matches(key, value, actual.get(key)) for key, value in expected.items())


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def score(
    cases: list[Case], decisions: dict[str, Decision], prices: dict[str, float] | None
) -> dict[str, Any]:
    """Every metric of the report for one model."""
    right_tool = right_args = with_args = right_tool_native = right_route = 0
    delegated = delegated_right = should_delegate = 0
    no_tool_cases = no_tool_right = errors = 0
    families: dict[str, list[bool]] = {}
    latencies: list[float] = []
    prompt_tokens = completion_tokens = 0
    for case in cases:
        decision = decisions[case.id]
        if decision.error:
            errors += 1
        else:
            latencies.append(decision.latency_s)
        prompt_tokens += decision.prompt_tokens
        completion_tokens += decision.completion_tokens
        tool_ok = decision.error is None and decision.tool == case.expect
        args_ok = tool_ok and arguments_match(case.args, decision.arguments)
        right_tool += tool_ok
        right_route += decision.error is None and TOOL_FAMILY.get(decision.tool) == TOOL_FAMILY.get(
            case.expect
        )
        # Without recovery a text-written call is spoken, i.e. the turn takes no tool.
        native_tool = NO_TOOL if decision.call_from_text else decision.tool
        right_tool_native += decision.error is None and native_tool == case.expect
        if tool_ok and case.args:
            with_args += 1
            right_args += args_ok
        delegated += decision.tool == DELEGATE
        delegated_right += decision.tool == DELEGATE and case.expect == DELEGATE
        should_delegate += case.expect == DELEGATE
        if case.expect == NO_TOOL:
            no_tool_cases += 1
            no_tool_right += tool_ok
        families.setdefault(case.family, []).append(args_ok)
    count = len(cases)
    calls = [d for c in cases if (d := decisions[c.id]).tool != NO_TOOL and not d.error]
    from_text = sum(d.call_from_text for d in calls)
    cost = None
    if prices is not None and count:
        per_turn = (prompt_tokens * prices["input"] + completion_tokens * prices["output"]) / 1e6
        cost = 1000 * per_turn / count
    return {
        "cases": count,
        "tool_accuracy": _rate(right_tool, count),
        "tool_accuracy_native": _rate(right_tool_native, count),
        "argument_accuracy": _rate(right_args, with_args),
        "route_accuracy": _rate(right_route, count),
        "delegation_precision": _rate(delegated_right, delegated),
        "delegation_recall": _rate(delegated_right, should_delegate),
        "false_delegation_rate": _rate(delegated - delegated_right, count - should_delegate),
        "irrelevance": _rate(no_tool_right, no_tool_cases),
        "family_accuracy": {
            name: _rate(sum(oks), len(oks)) for name, oks in sorted(families.items())
        },
        "latency_p50_s": _percentile(latencies, 0.50),
        "latency_p95_s": _percentile(latencies, 0.95),
        "tokens_per_turn": _rate(prompt_tokens + completion_tokens, count),
        "cost_per_1k_turns_usd": cost,
        "errors": errors,
        "calls_native": len(calls) - from_text,
        "calls_from_text": from_text,
        "prompt_tokens_per_turn": _rate(prompt_tokens, count),
    }


def score_tier0(cases: list[Case]) -> dict[str, Any]:
    """How often tier 0 answers a simple command (coverage) and how often it is right when it
    answers anything (precision: an answer to a case that is not simple is wrong), overall and
    per family, each case on its screen; no model is involved."""
    from router.tier0 import Tier0
    from router.tools import fast_tools
    from shared.bus.screen import UiState

    tier0 = Tier0(fast_tools(delegation=True))
    outcomes: list[_Tier0Outcome] = []
    wrong: list[dict[str, Any]] = []
    for case in cases:
        call = tier0.decide(case.text, UiState.model_validate(case.screen or {}))
        ok = (
            call is not None
            and case.simple
            and call.tool == case.expect
            and arguments_match(case.args, call.arguments)
        )
        outcomes.append(_Tier0Outcome(case.family, case.simple, call is not None, ok))
        if call is not None and not ok:
            wrong.append({"id": case.id, "text": case.text, "tool": call.tool, **call.arguments})
    families = sorted({outcome.family for outcome in outcomes})
    return {
        **_tier0_rates(outcomes),
        "families": {f: _tier0_rates([o for o in outcomes if o.family == f]) for f in families},
        "wrong": wrong,
    }


class _Tier0Outcome(NamedTuple):
    family: str
    simple: bool
    answered: bool
    right: bool


def _tier0_rates(outcomes: list[_Tier0Outcome]) -> dict[str, Any]:
    simple = [o for o in outcomes if o.simple]
    answered = [o for o in outcomes if o.answered]
    return {
        "cases": len(outcomes),
        "simple": len(simple),
        "answered": len(answered),
        "coverage": _rate(sum(o.answered for o in simple), len(simple)),
        "precision": _rate(sum(o.right for o in answered), len(answered)),
    }
