"""9. Voice to voice: from the end of the user's speech to the first sound of the answer.

    python -m bench.voice_to_voice [--rounds N]

Real audio in, real parts all the way: espeak-ng says each command; a microphone stand-in
pushes it into a voice session's Pipecat pipeline in real time, 20 ms at a time, with silence
before and after (as a microphone would go on sending); the session's own Silero VAD and
Smart Turn v3 decide when the turn ended; local Whisper (VOICE_WHISPER_MODEL, default where
`../shared/tools/local-stt.sh setup` puts Whisper base; int8 on the CPU) writes it down; the
turn goes through Redis to a router (tier 0, and a fake model at the seed's latency, 350 ms to
the first token then 80 tokens/s, for what tier 0 leaves); the reply comes back and espeak-ng
speaks it. Measured per turn, on this process's clock:

- turn end: end of speech in the input audio → the turn sent, transcript in hand (the VAD's
  0.2 s, then the turn-stop policy's wait: `voice/turn_taking.py`);
- of it, VAD: end of speech → the VAD's stop; STT: the VAD's stop → the transcript (Whisper
  transcribes the segment while the policy waits, so STT is hidden when it is the shorter);
- router: the turn sent → the reply's first text back in the session;
- TTS: that text → the first non-silent sample of the reply's audio;
- total: end of speech → first non-silent output sample.

Two configurations run in this process, one after the other: hybridbot's (Whisper's encoder
on a 10 s window, turns ending after 0.6 s of silence) and, as the baseline, Pipecat's own
(Whisper's 30 s window, Smart Turn deciding with its 3 s limit).

Not in it: the network. The pipeline's output here is the TTS's frames, not a WebRTC track
(on loopback that hop is a few ms; on a real network, its jitter buffer).
Tier-0 and model-path turns are reported apart (the reply tells which answered).
"""

import argparse
import asyncio
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from loguru import logger
from pipecat.frames.frames import (
    Frame,
    LLMTextFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSStoppedFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from bench.common import fresh_redis, router_in_process, settings, summary
from shared.bus.session_link import SessionLink
from tests.fakes.openai_server import FakeOpenAI, Say
from tests.speech import RATE, listening, sounding

MODEL_DIR = os.environ.get("VOICE_WHISPER_MODEL", "/var/tmp/local-stt/whisper-base")
LEAD_S, TAIL_S = 0.5, 0.6
"""Silence before each command and after its answer's audio, before the next command."""
TURN_TIMEOUT_S = 15.0
MODEL_REPLY = "Here is one: I told my computer a joke, and it needed a moment to process it."
TIER0_COMMANDS = [
    "open my notes",
    "what time is it",
    "set a timer for ten minutes",
    "switch to focus view",
    "close the notes",
]
MODEL_COMMANDS = ["tell me a joke", "how are you today"]
CONFIGURATIONS = {
    "hybridbot": {},
    "pipecat_defaults": {
        "VOICE_WHISPER_WINDOW_SECONDS": "30",
        "VOICE_SMART_TURN": "true",
        "VOICE_TURN_SILENCE_SECS": "3",
    },
}
"""Settings of each configuration measured, over hybridbot's defaults."""


@dataclass
class Turn:
    """One spoken command's moments (wall clock, seconds)."""

    said: str
    speech_end: float = 0.0
    vad_stop: float | None = None
    transcript: float | None = None
    heard: str = ""
    sent: float | None = None
    first_text: float | None = None
    reply: str = ""
    first_sound: float | None = None
    finished: asyncio.Event = field(default_factory=asyncio.Event)


class Watch(FrameProcessor):
    """Notes the moments of the current turn as frames pass; passes every frame on."""

    def __init__(self, probe: "Probe", stage: str) -> None:
        super().__init__()
        self.probe = probe
        self.stage = stage

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        self.probe.saw(self.stage, frame)
        await self.push_frame(frame, direction)


class Probe:
    """Which turn is being measured, and what each watch point saw of it."""

    def __init__(self) -> None:
        self.turn: Turn | None = None

    def saw(self, stage: str, frame: Frame) -> None:
        turn, now = self.turn, time.time()
        if turn is None:
            return
        if stage == "stt" and isinstance(frame, TranscriptionFrame) and turn.transcript is None:
            turn.transcript, turn.heard = now, frame.text
        elif stage == "turns" and isinstance(frame, VADUserStoppedSpeakingFrame):
            turn.vad_stop = turn.vad_stop or now
        elif stage == "replies" and isinstance(frame, LLMTextFrame) and turn.sent:
            turn.first_text = turn.first_text or now
            turn.reply += frame.text
        elif stage == "out" and isinstance(frame, TTSAudioRawFrame) and turn.first_text:
            loud = sounding(np.frombuffer(frame.audio, np.int16))
            if turn.first_sound is None and loud.size:
                turn.first_sound = now + loud[0] / frame.sample_rate
        elif stage == "out" and isinstance(frame, TTSStoppedFrame) and turn.first_sound:
            turn.finished.set()


def session_pipeline(link: SessionLink, probe: Probe, env: dict[str, str]) -> Pipeline:
    from voice.espeak_tts import EspeakTTSService
    from voice.pipeline import speech_in

    configured = settings(VOICE_WHISPER_MODEL=MODEL_DIR, VOICE_STT="whisper", **env)
    stt, user_aggregator, turn_processor = speech_in(link, configured)
    assert stt is not None, "VOICE_STT=whisper gives an STT or fails"
    send = turn_processor.send_turn

    async def stamped_send(text: str, heard_unsure: bool = False) -> None:
        if probe.turn is not None:
            probe.turn.sent = time.time()
        await send(text, heard_unsure)

    vars(turn_processor)["send_turn"] = stamped_send  # this instance only
    stages = [
        stt,
        Watch(probe, "stt"),
        user_aggregator,
        Watch(probe, "turns"),
        turn_processor,
        Watch(probe, "replies"),
        EspeakTTSService(),
        Watch(probe, "out"),
    ]
    return Pipeline(stages)


def breakdown(turns: list[Turn]) -> dict[str, Any]:
    """p50/p99 of each part, in ms."""

    def ms(later: str, earlier: str) -> dict[str, float]:
        return summary([(getattr(t, later) - getattr(t, earlier)) * 1000 for t in turns])

    return {
        "turn_end": ms("sent", "speech_end"),
        "vad": ms("vad_stop", "speech_end"),
        "stt": ms("transcript", "vad_stop"),
        "router": ms("first_text", "sent"),
        "tts": ms("first_sound", "first_text"),
        "total": ms("first_sound", "speech_end"),
    }


async def run(rounds: int = 2) -> dict[str, Any]:
    """Each configuration's figures; None with the reason when espeak-ng or the model is
    missing."""
    if shutil.which("espeak-ng") is None:
        return {"skipped": "no espeak-ng (apt-get install espeak-ng)"}
    if not (Path(MODEL_DIR) / "model.bin").is_file():
        return {"skipped": f"no Whisper model at {MODEL_DIR} (set VOICE_WHISPER_MODEL)"}
    logger.remove()  # Pipecat's per-frame debug log would be most of this benchmark's time
    logger.add(sys.stderr, level="ERROR")
    return {name: await measure(env, rounds) for name, env in CONFIGURATIONS.items()}


async def measure(settings_env: dict[str, str], rounds: int) -> dict[str, Any]:
    """Every command said `rounds` times in one session configured by `settings_env`."""
    from voice.espeak_tts import spoken

    client = await fresh_redis()
    model = FakeOpenAI(
        fallback=lambda request: Say(MODEL_REPLY), first_token_delay=0.35, token_interval=1 / 80
    )
    commands = (TIER0_COMMANDS + MODEL_COMMANDS) * rounds
    audio = {said: np.frombuffer(await spoken(said), np.int16) for said in set(commands)}
    lead = np.zeros(int(LEAD_S * RATE), np.int16)
    probe, turns, lost = Probe(), [], []
    with model:
        env = {"OPENAI_BASE_URL": model.base_url, "OPENAI_API_KEY": "k", "BOT_TIER0": "true"}
        async with router_in_process(client, env), SessionLink(client, "v2v") as link:
            async with listening(session_pipeline(link, probe, settings_env)) as microphone:
                for said in [commands[0], *commands]:  # the first one warms everything up
                    probe.turn = turn = Turn(said)
                    said_at = microphone.say(np.concatenate([lead, audio[said]]))
                    try:
                        await asyncio.wait_for(turn.finished.wait(), TURN_TIMEOUT_S)
                        turn.speech_end = said_at.result()
                    except TimeoutError:
                        lost.append(turn)
                        continue
                    await asyncio.sleep(TAIL_S)  # ok-sleep: the microphone's quiet between turns
                    turns.append(turn)
    await client.aclose()
    measured = turns[1:]  # not the warm-up
    by_model = [t for t in measured if MODEL_REPLY[:20] in t.reply]
    by_tier0 = [t for t in measured if t not in by_model]
    return {
        "tier0": breakdown(by_tier0) if by_tier0 else None,
        "model": breakdown(by_model) if by_model else None,
        "heard": sorted({(t.said, t.heard.strip()) for t in measured}),
        "misrouted": sorted({t.said for t in by_model if t.said in TIER0_COMMANDS}),
        "lost": [t.said for t in lost],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="times each command is said")
    args = parser.parse_args()
    result = asyncio.run(run(args.rounds))
    if "skipped" in result:
        sys.exit(f"voice to voice skipped: {result['skipped']}")
    for name, measured in result.items():
        for path in ("tier0", "model"):
            row = measured[path]
            if row:
                parts = ", ".join(f"{k} {v['p50']:.0f}/{v['p99']:.0f}" for k, v in row.items())
                print(f"{name}, {path} (n={row['total']['n']}), p50/p99 ms: {parts}")
        print("  heard:", measured["heard"])
        print("  misrouted:", measured["misrouted"], "lost:", measured["lost"])
    ours, theirs = result["hybridbot"]["tier0"], result["pipecat_defaults"]["tier0"]
    if ours and theirs:
        ratio = theirs["total"]["p50"] / ours["total"]["p50"]
        print(f"tier-0 voice to voice, p50: {ratio:.2f}x faster than Pipecat's defaults")


if __name__ == "__main__":
    main()
