"""The eval's outputs: a side-by-side table for the terminal and markdown, and JSON."""

from typing import Any

ROWS = [
    ("tool selection accuracy", "tool_accuracy", "pct"),
    ("tool selection, native calls only", "tool_accuracy_native", "pct"),
    ("argument accuracy", "argument_accuracy", "pct"),
    ("family accuracy (right family, delegation or none)", "route_accuracy", "pct"),
    ("delegation precision", "delegation_precision", "pct"),
    ("delegation recall", "delegation_recall", "pct"),
    ("false delegations (of cases not to delegate)", "false_delegation_rate", "pct"),
    ("irrelevance (no tool when none fits)", "irrelevance", "pct"),
    ("latency p50 to decision", "latency_p50_s", "sec"),
    ("latency p95 to decision", "latency_p95_s", "sec"),
    ("tokens per turn", "tokens_per_turn", "num"),
    ("prompt tokens per turn", "prompt_tokens_per_turn", "num"),
    ("tool calls sent natively", "calls_native", "num"),
    ("tool calls written as text (recovered)", "calls_from_text", "num"),
    ("cost per 1k turns", "cost_per_1k_turns_usd", "usd"),
    ("errors", "errors", "num"),
]


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return "n/a"
    return {
        "pct": percent,
        "sec": lambda v: f"{v:.2f} s",
        "usd": lambda v: f"${v:.3f}",
        "num": lambda v: f"{v:.0f}" if isinstance(v, float) else str(v),
    }[kind](value)


def table_rows(results: dict[str, dict[str, Any]]) -> list[list[str]]:
    """Header, then one row per metric and per tool family, one column per model."""
    models = list(results)
    rows = [["metric", *models]]
    rows += [
        [label, *(_cell(results[m].get(key), kind) for m in models)] for label, key, kind in ROWS
    ]
    families = sorted({f for m in models for f in results[m]["family_accuracy"]})
    rows += [
        [
            f"family: {family}",
            *(_cell(results[m]["family_accuracy"].get(family), "pct") for m in models),
        ]
        for family in families
    ]
    for extra_row in sorted({key for m in models for key in results[m].get("extra_rows", {})}):
        rows.append(
            [extra_row, *(results[m].get("extra_rows", {}).get(extra_row, "") for m in models)]
        )
    return rows


def terminal_table(results: dict[str, dict[str, Any]]) -> str:
    return text_table(table_rows(results))


def markdown_table(results: dict[str, dict[str, Any]], cases: int) -> str:
    return f"# Tool-calling accuracy ({cases} cases)\n\n" + markdown_rows(table_rows(results))


def tier0_rows(by_dataset: dict[str, dict[str, Any]]) -> list[list[str]]:
    """Tier 0 per dataset and family: coverage of simple commands, precision of what it
    answered, and how many it answered of how many cases."""
    names = list(by_dataset)
    rows = [["tier 0 (no model)", *(f"{name}: coverage / precision / answered" for name in names)]]
    families = sorted({f for scores in by_dataset.values() for f in scores["families"]})

    def cell(scores: dict[str, Any] | None) -> str:
        if scores is None:
            return ""
        return (
            f"{percent(scores['coverage'])} / {percent(scores['precision'])} / "
            f"{scores['answered']} of {scores['cases']}"
        )

    rows.append(["all", *(cell(by_dataset[name]) for name in names)])
    rows += [
        [f"family: {family}", *(cell(by_dataset[n]["families"].get(family)) for n in names)]
        for family in families
    ]
    return rows


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def markdown_rows(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows[1:])]) + "\n"
