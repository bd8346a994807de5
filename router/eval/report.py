"""The eval's outputs: a side-by-side table for the terminal and markdown, and JSON."""

from typing import Any

ROWS = [
    ("tool selection accuracy", "tool_accuracy", "pct"),
    ("tool selection, native calls only", "tool_accuracy_native", "pct"),
    ("argument accuracy", "argument_accuracy", "pct"),
    ("delegation precision", "delegation_precision", "pct"),
    ("delegation recall", "delegation_recall", "pct"),
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
    rows = table_rows(results)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def markdown_table(results: dict[str, dict[str, Any]], cases: int) -> str:
    rows = table_rows(results)
    lines = [f"# Tool-calling accuracy ({cases} cases)", ""]
    lines.append("| " + " | ".join(rows[0]) + " |")
    lines.append("|" + "---|" * len(rows[0]))
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines) + "\n"
