"""The tool-calling accuracy check, run against the fake model scripted to be right on some
cases and wrong on others: the metrics come out exactly as they should."""

import json
from pathlib import Path

import pytest

from router.eval.__main__ import main
from router.eval.runner import router_prompt_and_tools
from router.eval.scoring import Case, load_cases, value_matches
from tests.fakes.openai_server import CallTools, Fail, FakeOpenAI, Reply, Say

CASES = [
    {"id": "n1", "family": "notes", "text": "open my notes", "expect": "list_notes"},
    {
        "id": "y1",
        "family": "youtube",
        "text": "play lofi on youtube",
        "expect": "youtube_play",
        "args": {"query": "lofi"},
    },
    {
        "id": "s1",
        "family": "soundtrack",
        "text": "volume thirty",
        "expect": "soundtrack_volume",
        "args": {"volume": 30},
    },
    {
        "id": "c1",
        "family": "calculator",
        "text": "what's 17 times 23",
        "expect": "calculator",
        "args": {"expression": "17*23"},
    },
    {
        "id": "d1",
        "family": "delegation",
        "text": "research gpus",
        "expect": "bot_openclaw_task",
        "category": "web_research",
    },
    {"id": "x1", "family": "none", "text": "thanks", "expect": "none"},
    {
        "id": "w1",
        "family": "windows",
        "text": "close that window",
        "expect": "window_action",
        "args": {"action": "close"},
    },
    {"id": "e1", "family": "misc", "text": "what time is it", "expect": "current_time"},
]
ANSWERS: dict[str, Reply] = {
    "open my notes": CallTools([("list_notes", {})]),  # right
    "play lofi on youtube": CallTools([("youtube_play", {"query": "LoFi."})]),  # right, other case
    "volume thirty": CallTools([("soundtrack_volume", {"volume": "30"})]),  # right, number as text
    "what's 17 times 23": CallTools(
        [("calculator", {"expression": "17 x 23"})]
    ),  # right, other form
    "research gpus": Say("The RTX 4090."),  # should have delegated
    "thanks": CallTools([("bot_openclaw_task", {"task": "thanks"})]),  # delegated for nothing
    "close that window": CallTools(
        [("window_action", {"action": "minimize"})]
    ),  # right tool, wrong args
    "what time is it": Fail(500, "down", {"retry-after-ms": "1"}),  # an error, every retry
}


def scripted(request: dict) -> Reply:
    return ANSWERS[request["messages"][-1]["content"]]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(case) + "\n" for case in CASES))
    return path


def run(dataset: Path, tmp_path: Path, model: FakeOpenAI, *extra: str) -> int:
    return main(
        [
            "--model",
            f"gpt-4o-mini@{model.base_url}",
            "--dataset",
            str(dataset),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--json",
            str(tmp_path / "report.json"),
            "--markdown",
            str(tmp_path / "report.md"),
            *extra,
        ]
    )


def test_metrics_are_exact(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAI(fallback=scripted) as model:
        assert run(dataset, tmp_path, model) == 0

    report = json.loads((tmp_path / "report.json").read_text())
    metrics = report["models"][f"gpt-4o-mini@{model.base_url}"]
    assert report["cases"] == 8
    assert metrics["tool_accuracy"] == metrics["tool_accuracy_native"] == 5 / 8
    assert metrics["argument_accuracy"] == 3 / 4
    assert metrics["delegation_precision"] == 0.0
    assert metrics["delegation_recall"] == 0.0
    assert metrics["false_delegation_rate"] == 1 / 7
    assert metrics["route_accuracy"] == 5 / 8  # window_action with wrong args is the family
    assert metrics["irrelevance"] == 0.0
    assert metrics["errors"] == 1
    assert metrics["family_accuracy"] == {
        "calculator": 1.0,
        "delegation": 0.0,
        "misc": 0.0,
        "none": 0.0,
        "notes": 1.0,
        "soundtrack": 1.0,
        "windows": 0.0,
        "youtube": 1.0,
    }
    assert metrics["latency_p50_s"] > 0 and metrics["latency_p95_s"] >= metrics["latency_p50_s"]
    tokens = metrics["tokens_per_turn"] * 8
    assert metrics["cost_per_1k_turns_usd"] > 0 and tokens > 700
    assert metrics["tier0"]["precision"] == 1.0  # the eight cases, decided locally
    table = capsys.readouterr().out
    assert "tool selection accuracy" in table and "62.5%" in table and "family: windows" in table
    assert "tier-0 coverage (local, no model)" in table
    assert "| tool selection accuracy | 62.5% |" in (tmp_path / "report.md").read_text()

    # Every case went through the router's real prompt and tool schemas.
    prompt, tools = router_prompt_and_tools()
    first = model.requests[0]
    assert first["messages"][0]["content"] == prompt and first["tools"] == tools


ROUTES = {
    "open my notes": "notes",
    "play lofi on youtube": "youtube",
    "volume thirty": "background_music",
    "what's 17 times 23": "calculator",
    "research gpus": "delegate",
    "thanks": "answer",
    "close that window": "windows",
    "what time is it": "time_or_now_playing",
}


def routing_model(request: dict) -> Reply:
    """Routes every case right; the routed call is then the scripted one (written as the
    call's schema asks), except that the delegated case now delegates and the thanks are
    answered."""
    text = request["messages"][-1]["content"]
    schema = request.get("response_format", {}).get("json_schema", {}).get("schema", {})
    if "route" in schema.get("properties", {}):
        return Say(json.dumps({"route": ROUTES[text]}))
    if text == "thanks":
        return Say("You're welcome.")
    scripted = ANSWERS[text]
    if text == "research gpus":
        scripted = CallTools([("bot_openclaw_task", {"task": "research gpus"})])
    if not isinstance(scripted, CallTools):
        return scripted
    ((name, arguments),) = scripted.calls
    return Say(json.dumps({"name": name, "arguments": arguments}))


def test_the_routing_step_is_evaluated_as_the_router_takes_it(
    dataset: Path, tmp_path: Path
) -> None:
    with FakeOpenAI(fallback=routing_model) as model:
        assert run(dataset, tmp_path, model, "--route-first", "on") == 0

    report = json.loads((tmp_path / "report.json").read_text())
    metrics = report["models"][f"gpt-4o-mini@{model.base_url}"]
    assert metrics["tool_accuracy"] == metrics["route_accuracy"] == 7 / 8  # the time: errors
    assert metrics["delegation_recall"] == metrics["delegation_precision"] == 1.0
    assert metrics["false_delegation_rate"] == 0.0 and metrics["irrelevance"] == 1.0
    # Both requests of a routed case are counted: the fake bills 100 prompt tokens each.
    assert metrics["prompt_tokens_per_turn"] > 100
    routed = [r for r in model.requests if "tools" in r or r.get("stream")]
    notes = next(r for r in routed if r["messages"][-1]["content"] == "open my notes")
    assert "anyOf" in notes["response_format"]["json_schema"]["schema"]
    assert len(notes["tools"]) < 20
    thanks = next(r for r in routed if r["messages"][-1]["content"] == "thanks")
    assert "tools" not in thanks and "response_format" not in thanks


def test_a_second_run_is_answered_from_the_cache(dataset: Path, tmp_path: Path) -> None:
    with FakeOpenAI(fallback=scripted) as model:
        run(dataset, tmp_path, model)
        asked_first = len(model.requests)
        run(dataset, tmp_path, model)
        asked_again = len(model.requests) - asked_first
    # Only the case that errored is asked again (1 try + 4 retries).
    assert asked_again == 5


def test_fail_under_gates_ci(dataset: Path, tmp_path: Path) -> None:
    with FakeOpenAI(fallback=scripted) as model:
        assert run(dataset, tmp_path, model, "--fail-under", "0.9") == 1
        assert run(dataset, tmp_path, model, "--fail-under", "0.5") == 0


def test_two_models_side_by_side(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAI(fallback=scripted) as good, FakeOpenAI(fallback=lambda r: Say("hmm")) as mute:
        code = main(
            [
                "--model",
                f"fine@{good.base_url}",
                "--model",
                f"mute@{mute.base_url}",
                "--dataset",
                str(dataset),
                "--cache-dir",
                str(tmp_path / "cache"),
            ]
        )
    assert code == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert f"fine@{good.base_url}" in header and f"mute@{mute.base_url}" in header


@pytest.mark.parametrize(
    ("key", "expected", "actual", "ok"),
    [
        ("title", "groceries", "Groceries.", True),
        ("title", "groceries", "groceries with milk and eggs", False),
        ("title", "grocer", "Groceries", False),
        ("title", ["todo", "to do"], "To-Do", True),
        ("duration", "10 minutes", "ten minutes", True),
        ("volume", 30, "30", True),
        ("volume", 30, 30.0, True),
        ("seconds", -10, "-10", True),
        ("expression", "17*23", "17 times 23", True),
        ("expression", "0.15*80", "15% of 80", True),  # "% of" is a percentage, not modulo
        ("expression", "0.15*80", "15 % 80", False),
        ("mute", True, "true", True),
        ("mute", True, False, False),
        ("query", "lofi", None, False),
    ],
)
def test_values_match_whole_after_normalising(
    key: str, expected: object, actual: object, ok: bool
) -> None:
    assert value_matches(key, expected, actual) is ok


def test_the_shipped_dataset_covers_every_family_and_delegation_category() -> None:
    from router.eval.runner import router_prompt_and_tools as offered
    from router.tools import FAMILIES

    cases = load_cases(Path("router/eval/dataset.jsonl"))
    assert len(cases) >= 300
    assert len({c.id for c in cases}) == len(cases)
    assert set(FAMILIES) | {"delegation", "none"} <= {c.family for c in cases}
    assert {c.category for c in cases if c.family == "delegation"} == {
        "web_research",
        "code_execution",
        "multi_step_reasoning",
        "deep_analysis",
        "file_manipulation",
        "external_capabilities",
    }
    tool_names = {t["function"]["name"] for t in offered()[1]} | {"none"}
    assert {c.expect for c in cases} <= tool_names
    assert all(
        isinstance(c, Case) and (c.text == c.text.lower() or "http" in c.text) for c in cases
    )


@pytest.mark.parametrize("dataset", ["fresh.jsonl", "holdout.jsonl", "routing.jsonl"])
def test_every_other_eval_set_names_tools_that_exist(dataset: str) -> None:
    from router.eval.runner import router_prompt_and_tools as offered

    cases = load_cases(Path("router/eval") / dataset)
    assert len({c.id for c in cases}) == len(cases)
    tool_names = {t["function"]["name"] for t in offered()[1]} | {"none"}
    assert {c.expect for c in cases} <= tool_names


def test_calls_written_as_text_are_scored_and_reported_as_such(
    dataset: Path, tmp_path: Path
) -> None:
    def writes_calls(request: dict) -> Say:
        if request["messages"][-1]["content"] == "open my notes":
            return Say('<tool_call>{"name": "list_notes", "arguments": {}}</tool_call>')
        return Say("I can't.")

    with FakeOpenAI(fallback=writes_calls) as model:
        run(dataset, tmp_path, model)

    metrics = json.loads((tmp_path / "report.json").read_text())["models"][
        f"gpt-4o-mini@{model.base_url}"
    ]
    assert (metrics["calls_from_text"], metrics["calls_native"]) == (1, 0)
    assert metrics["family_accuracy"]["notes"] == 1.0
    assert metrics["tool_accuracy_native"] < metrics["tool_accuracy"]
    assert "| tool calls written as text (recovered) | 1 |" in (tmp_path / "report.md").read_text()


def test_make_eval_with_no_model_reports_tier0_per_family_on_every_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    assert main(["--tier0-min-precision", "0.995", "--json", str(report)]) == 0
    table = capsys.readouterr().out
    assert "fresh.jsonl: coverage / precision / answered" in table
    assert "holdout.jsonl" in table and "family: sprites" in table
    tier0 = json.loads(report.read_text())["tier0"]
    assert set(tier0) == {"dataset.jsonl", "fresh.jsonl", "holdout.jsonl"}
    assert tier0["fresh.jsonl"]["families"]["abstain"]["simple"] == 0


def test_tier0_scores_each_case_on_its_screen_and_counts_abstain_answers_as_wrong() -> None:
    from router.eval.scoring import score_tier0

    playing = {"soundtrack": {"track": "rain", "status": "playing"}}
    cases = [
        Case("a", "soundtrack", "pause", "soundtrack_control", {"command": "pause"}, None, playing),
        Case("b", "soundtrack", "pause", "soundtrack_control", {"command": "pause"}),  # idle
        Case("c", "abstain", "open the browser", "open_window"),  # answered: a miss
    ]
    scores = score_tier0(cases)
    assert (scores["coverage"], scores["precision"]) == (0.5, 0.5)
    assert [wrong["id"] for wrong in scores["wrong"]] == ["c"]
