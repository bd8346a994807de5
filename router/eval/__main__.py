"""`python -m router.eval --model gpt-4o-mini --model qwen2.5-72b@http://gpu:8000/v1`

Each `--model` is `NAME` (at `--base-url`, or OpenAI) or `NAME@BASE_URL`; the key comes from
OPENAI_API_KEY. Prints the side-by-side table; `--json` and `--markdown` write the report;
`--fail-under 0.9` exits 1 when any model's tool selection accuracy is below 90 %.
"""

import argparse
import asyncio
import json
import os
import sys
import tomllib
from pathlib import Path

from router.eval.report import markdown_table, percent, terminal_table
from router.eval.runner import run_model
from router.eval.scoring import load_cases, score, score_tier0

HERE = Path(__file__).resolve().parent


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m router.eval",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", action="append", required=True, help="NAME or NAME@BASE_URL")
    parser.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL"))
    parser.add_argument("--dataset", type=Path, default=HERE / "dataset.jsonl")
    parser.add_argument("--prices", type=Path, default=HERE / "prices.toml")
    parser.add_argument("--cache-dir", type=Path, default=Path(".eval-cache"))
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--family", action="append", help="only these families")
    parser.add_argument("--limit", type=int, help="only the first N cases")
    parser.add_argument("--json", type=Path, help="write the metrics as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the report as markdown here")
    parser.add_argument("--fail-under", type=float, help="minimum tool selection accuracy, 0-1")
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
        )
        price = prices.get(name, {"input": 0, "output": 0} if base_url else None)
        results[spec] = score(cases, decisions, price)
        results[spec]["tier0"] = tier0
        results[spec]["extra_rows"] = tier0_rows
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    results = asyncio.run(evaluate(args))
    cases = next(iter(results.values()))["cases"]
    print(terminal_table(results))
    if args.json:
        args.json.write_text(json.dumps({"cases": cases, "models": results}, indent=2))
    if args.markdown:
        args.markdown.write_text(markdown_table(results, cases))
    if args.fail_under is not None:
        failing = [m for m, r in results.items() if (r["tool_accuracy"] or 0) < args.fail_under]
        if failing:
            print(f"below --fail-under {args.fail_under}: {', '.join(failing)}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
