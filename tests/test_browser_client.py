"""The web client end to end in real headless Chromium (Playwright, voice/web/e2e): the page
served by `python -m voice` connects over WebRTC without a microphone, typed turns go through
the router (fake model), a delegated task through an OpenClaw worker (fake gateway), on real
Redis; the notes panel opens, the task card goes running → done with the result text.

The speech test (voice/web/e2e/speech.e2e.mjs) gives Chromium a WAV of espeak-ng saying a
command as its microphone: the voice service hears it with local Whisper, tier 0 or the fake
model answers, and espeak-ng's answer must reach the page as non-silent samples.

The screenshots are kept in voice/web/test-results/ (CI artifacts)."""

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from shared.bus import keys
from shared.local_redis import free_port
from tests.conftest import RedisAtUrl, require
from tests.fakes.openai_server import FakeOpenAI, FakeOpenClaw, Say, delegating_model
from tests.processes import (
    ROOT,
    serves_page,
    service_env,
    start_service,
    stop_services,
    wait_for,
)
from tests.speech import MODEL_DIR, wav_of

WEB = ROOT / "voice" / "web"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
RESULT = "The RTX 4090 is the fastest card. A used 3090 is the best value."
ARTIFACT = WEB / "test-results" / "desktop.png"
NOTES = [
    ("n1", "groceries", "milk, eggs, coffee"),
    ("n2", "gpu shopping", "compare the 4090 and a used 3090"),
]


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt install chromium)"
    if shutil.which("node") is None:
        return "no node on PATH"
    if not (WEB / "node_modules" / "playwright-core").exists():
        return "playwright-core not installed (cd voice/web && npm ci)"
    return None


@pytest.fixture
def browser_tools() -> None:
    require(_missing())


async def run_page_script(
    script: str, url: str, services: list[subprocess.Popen[bytes]], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Once the voice service serves its page, run an e2e script (voice/web/e2e) against it
    with `env`; the services are stopped either way."""
    try:

        async def page_served() -> bool:
            return await asyncio.to_thread(serves_page, url)

        await wait_for(page_served, timeout=60)
        return await asyncio.to_thread(
            subprocess.run,
            ["node", f"e2e/{script}"],
            cwd=WEB,
            env={**os.environ, "CHROMIUM": CHROMIUM, **env},
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        stop_services(services)


@pytest.mark.parametrize("offline", [False, True], ids=["hybrid", "offline"])
@pytest.mark.usefixtures("browser_tools")
async def test_the_page_opens_notes_and_shows_a_task_running_then_done(
    redis_at_url: RedisAtUrl, tmp_path: Path, offline: bool
) -> None:
    """Hybrid: fake model and fake OpenClaw. Offline: no model, no OpenClaw, no key at all and
    no speech output; tier 0 acts on the typed commands, anything else is explained, and the
    page says speech output is off. The offline run also listens beyond loopback, so the page
    must bring the access token (from the link's #token=)."""
    for note_id, title, text in NOTES:
        note = {"id": note_id, "title": title, "text": text, "created_at": 1, "updated_at": 1}
        await redis_at_url.client.hset(keys.profile_notes("default"), note_id, json.dumps(note))
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with (
        FakeOpenAI(fallback=delegating_model) as model,
        FakeOpenClaw(fallback=lambda request: Say(RESULT, delay=1.0)) as claw,
    ):
        env = service_env(redis_at_url.url, VOICE_STT="none", VOICE_TTS="none" if offline else "")
        env = {k: v for k, v in env.items() if not k.startswith(("OPENAI_", "OPENCLAW_"))}
        if not offline:
            env.update(
                OPENAI_BASE_URL=model.base_url,
                OPENAI_API_KEY="sk-test",
                OPENCLAW_API_URL=claw.url,
            )
        backends = ["router"] if offline else ["router", "openclaw_worker"]
        services = [start_service(name, env, tmp_path / f"{name}.log") for name in backends]
        options = {"--host": "0.0.0.0" if offline else "127.0.0.1", "--port": str(port)}
        if offline:
            env["VOICE_ACCESS_TOKEN"] = "e2e-access-token"
        services.append(start_service("voice", env, tmp_path / "voice.log", options))
        run = await run_page_script(
            "desktop.e2e.mjs",
            url,
            services,
            {
                "HYBRIDBOT_URL": url + ("#token=e2e-access-token" if offline else ""),
                "SCREENSHOT": str(tmp_path / "desktop.png"),
                "RESULT": RESULT,
                "NOTE": NOTES[1][1],
                "OFFLINE": "1" if offline else "0",
                "TEXT_ONLY": "1" if offline else "0",
            },
        )

    ARTIFACT.parent.mkdir(exist_ok=True)
    for shot in tmp_path.glob("desktop*.png"):
        name = shot.name.replace("desktop", "desktop-offline") if offline else shot.name
        shutil.copy(shot, ARTIFACT.parent / name)
    logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in tmp_path.glob("*.log"))
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n{logs}"
    assert (tmp_path / "desktop.png").stat().st_size > 10_000


JOKE = "A robot walks into a bar. It orders a byte."


@pytest.mark.parametrize(
    ("said", "expect"),
    [
        ("open my notes", {"SHOWS": "#notes:not([hidden]) #note-list li"}),
        ("tell me a joke", {"REPLY": JOKE}),
    ],
    ids=["tier-0", "model"],
)
@pytest.mark.usefixtures("browser_tools")
@pytest.mark.usefixtures("whisper_model")
async def test_a_spoken_command_is_heard_acted_on_and_answered_aloud(
    redis_at_url: RedisAtUrl, tmp_path: Path, said: str, expect: dict[str, str]
) -> None:
    """Speech in through Chromium's microphone (a WAV played in a loop: silence, the command,
    silence), Silero VAD + Smart Turn + local Whisper in the voice service, the router with
    tier 0 on and a fake model, espeak-ng's answer measured in the page."""
    note = {"id": "n1", "title": "groceries", "text": "milk", "created_at": 1, "updated_at": 1}
    await redis_at_url.client.hset(keys.profile_notes("default"), "n1", json.dumps(note))
    microphone = await wav_of(said, tmp_path / "microphone.wav", lead=1.5, tail=3.0)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with FakeOpenAI(fallback=lambda request: Say(JOKE)) as model:
        env = service_env(
            redis_at_url.url,
            OPENAI_BASE_URL=model.base_url,
            OPENAI_API_KEY="sk-test",
            VOICE_STT="whisper",
            VOICE_WHISPER_MODEL=MODEL_DIR,
            VOICE_TTS="espeak",
        )
        env.pop("OPENCLAW_API_URL", None)
        services = [start_service("router", env, tmp_path / "router.log")]
        options = {"--host": "127.0.0.1", "--port": str(port)}
        services.append(start_service("voice", env, tmp_path / "voice.log", options))
        run = await run_page_script(
            "speech.e2e.mjs",
            url,
            services,
            {
                **expect,
                "HYBRIDBOT_URL": url,
                "MIC_WAV": str(microphone),
                "HEARD": said,
                "SCREENSHOT": str(tmp_path / "speech.png"),
            },
        )

    ARTIFACT.parent.mkdir(exist_ok=True)
    for shot in tmp_path.glob("speech*.png"):
        shutil.copy(shot, ARTIFACT.parent / shot.name.replace("speech", f"speech-{said[:4]}"))
    logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in tmp_path.glob("*.log"))
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n{logs}"


@pytest.mark.usefixtures("browser_tools")
async def test_the_committed_build_matches_the_sources(tmp_path: Path) -> None:
    """voice/web/dist is what `make web` builds from voice/web/src (Vite's names hash content)."""
    build = await asyncio.to_thread(
        subprocess.run,
        ["npx", "vite", "build", "--outDir", str(tmp_path / "dist"), "--logLevel", "error"],
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stderr

    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    assert files(tmp_path / "dist") == files(WEB / "dist"), "run `make web` and commit the build"
