"""`python -m router.eval --model gpt-4o-mini --model qwen2.5-72b@http://gpu:8000/v1`

Each `--model` is `NAME` (at `--base-url`, or OpenAI) or `NAME@BASE_URL`; the key comes from
OPENAI_API_KEY. Prints the side-by-side table; `--json` and `--markdown` write the report;
`--fail-under 0.9` exits 1 when any model's tool selection accuracy is below 90 %.

Tier 0 (no model) is reported per family on every `--tier0-dataset` (default: the dataset, the
fresh set written apart from tier 0's rules, and the hold-out set written with it and not looked
at while the rules were generalised); with no `--model` that is the whole report.
`--tier0-min-precision 0.995` exits 1 when tier 0 is less precise than that on any of them.
"""

import argparse
import asyncio
import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

from router.eval.report import (
    markdown_rows,
    markdown_table,
    percent,
    terminal_table,
    text_table,
    tier0_rows,
)
from router.eval.runner import run_model
from router.eval.scoring import load_cases, score, score_tier0
from shared.settings import route_first_for

HERE = Path(__file__).resolve().parent


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m router.eval",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", action="append", default=[], help="NAME or NAME@BASE_URL")
    parser.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL"))
    parser.add_argument("--dataset", type=Path, default=HERE / "dataset.jsonl")
    parser.add_argument("--prices", type=Path, default=HERE / "prices.toml")
    parser.add_argument("--cache-dir", type=Path, default=Path(".eval-cache"))
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--route-first",
        choices=("auto", "on", "off"),
        default=os.environ.get("BOT_ROUTE_FIRST", "auto"),
        help="the routing step, as BOT_ROUTE_FIRST (auto: on for a non-OpenAI model at BASE_URL)",
    )
    parser.add_argument("--family", action="append", help="only these families")
    parser.add_argument("--limit", type=int, help="only the first N cases")
    parser.add_argument("--json", type=Path, help="write the metrics as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the report as markdown here")
    parser.add_argument("--fail-under", type=float, help="minimum tool selection accuracy, 0-1")
    parser.add_argument(
        "--tier0-dataset",
        type=Path,
        action="append",
        help="datasets tier 0 is scored on (default: dataset, fresh and holdout)",
    )
    parser.add_argument("--tier0-min-precision", type=float, help="minimum tier-0 precision, 0-1")
    return parser.parse_args(argv)


async def evaluate(args: argparse.Namespace) -> dict[str, dict]:
    cases = load_cases(args.dataset)
    if args.family:
        cases = [c for c in cases if c.family in args.family]
    if args.limit:
        cases = cases[: args.limit]
    prices = tomllib.loads(args.prices.read_text()).get("models", {})
    results: dict[str, dict] = {}
    tier0 = score_tier0(cases)
    tier0_rows = {
        "tier-0 coverage (local, no model)": percent(tier0["coverage"]),
        "tier-0 precision (local, no model)": percent(tier0["precision"]),
    }
    for spec in args.model:
        name, _, url = spec.partition("@")
        base_url = url or args.base_url
        decisions = await run_model(
            name,
            base_url,
            os.environ.get("OPENAI_API_KEY"),
            cases,
            args.cache_dir,
            args.concurrency,
            route_first_for(args.route_first, base_url, name),
        )
        price = prices.get(name, {"input": 0, "output": 0} if base_url else None)
        results[spec] = score(cases, decisions, price)
        results[spec]["tier0"] = tier0
        results[spec]["extra_rows"] = tier0_rows
    return results


def tier0_report(datasets: list[Path]) -> dict[str, dict[str, Any]]:
    """Tier 0's scores on each dataset, by file name."""
    return {path.name: score_tier0(load_cases(path)) for path in datasets}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    default = [HERE / name for name in ("dataset.jsonl", "fresh.jsonl", "holdout.jsonl")]
    tier0 = tier0_report(args.tier0_dataset or default)
    tier0_table = tier0_rows(tier0)
    results = asyncio.run(evaluate(args)) if args.model else {}
    markdown = ""
    if results:
        cases = next(iter(results.values()))["cases"]
        print(terminal_table(results), end="\n\n")
        markdown = markdown_table(results, cases) + "\n"
    print(text_table(tier0_table))
    for name, scores in tier0.items():
        for wrong in scores["wrong"]:
            print(f"tier 0 wrong on {name}: {wrong}")
    if args.json:
        cases = next(iter(results.values()))["cases"] if results else 0
        report = {"cases": cases, "models": results, "tier0": tier0}
        args.json.write_text(json.dumps(report, indent=2))
    if args.markdown:
        args.markdown.write_text(markdown + "## Tier 0\n\n" + markdown_rows(tier0_table))
    status = 0
    if args.fail_under is not None:
        failing = [m for m, r in results.items() if (r["tool_accuracy"] or 0) < args.fail_under]
        if failing:
            print(f"below --fail-under {args.fail_under}: {', '.join(failing)}", file=sys.stderr)
            status = 1
    if args.tier0_min_precision is not None:
        imprecise = [
            name
            for name, scores in tier0.items()
            if (scores["precision"] or 0) < args.tier0_min_precision
        ]
        if imprecise:
            print(
                f"tier 0 below {args.tier0_min_precision}: {', '.join(imprecise)}", file=sys.stderr
            )
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
