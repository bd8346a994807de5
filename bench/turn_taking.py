"""Turn taking: how long after the last word a turn ends, and how often a pause cuts it off.

    python -m bench.turn_taking [--every N]

Each simple command of the eval dataset is said by espeak-ng whole, and again with a pause in
the middle (SSML `<break>`: the sentence's intonation goes on across it, as when a user stops
to think). Each rendering goes 20 ms at a time through Silero VAD (`voice/vad.py`, stopping
after 0.2 s) and the turn-stop policies `voice/turn_taking.py` offers, deciding as Pipecat's
strategies do: with Smart Turn v3.2 (the model Pipecat ships), the turn ends at the VAD's stop
if Smart Turn calls the speech complete, else once the silence reaches the limit unless speech
resumes; without it, once the silence after the VAD's stop reaches the limit, unless the VAD
hears speech again first. Audio goes in faster than real time; the moments are audio time.

Reported per setting: the wait from the end of a whole command's speech to the end of its turn
(p50, p90: what the user waits before anything can happen), how often the pause cut a paused
command in two (the first half would be answered on its own), and Smart Turn's CPU time.
"""

import argparse
import asyncio
import shutil
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from loguru import logger
from pipecat.audio.turn.base_turn_analyzer import EndOfTurnState
from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.audio.vad.vad_analyzer import VAD_STOP_SECS, VADParams, VADState

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from router.eval.scoring import load_cases  # noqa: E402
from tests.speech import FRAME, RATE, sounding  # noqa: E402
from voice.vad import SharedSileroVAD  # noqa: E402

LEAD_S, TAIL_S = 0.5, 4.0
PAUSES_S = (0.3, 0.5, 1.0)


@dataclass(frozen=True)
class TurnSetting:
    """One turn-stop policy of `voice/turn_taking.py` (the VAD always stops after 0.2 s)."""

    smart_turn: bool
    silence_s: float

    @property
    def name(self) -> str:
        if self.smart_turn:
            return f"Smart Turn, else {self.silence_s:.1f} s of silence"
        return f"{self.silence_s:.1f} s of silence"


SETTINGS = [
    TurnSetting(True, 3.0),  # Pipecat 1.14's default
    TurnSetting(True, 1.0),
    TurnSetting(False, 0.4),
    TurnSetting(False, 0.5),
    TurnSetting(False, 0.6),
    TurnSetting(False, 0.8),
    TurnSetting(False, 1.0),
]


async def espeak_ssml(ssml: str) -> np.ndarray:
    """espeak-ng's rendering of an SSML sentence, at 16 kHz."""
    from voice.espeak_tts import spoken

    return np.frombuffer(await spoken(ssml, RATE, ssml=True), np.int16)


def with_pause(text: str, pause_s: float) -> str | None:
    """`text` as SSML with a pause after its first half of words (None: one word only)."""
    words = text.split()
    if len(words) < 2:
        return None
    half = len(words) // 2
    first, rest = " ".join(words[:half]), " ".join(words[half:])
    return f'<speak>{first} <break time="{int(pause_s * 1000)}ms"/> {rest}</speak>'


class TurnEnds:
    """Feeds audio to the VAD (and Smart Turn) and says when the turn ended."""

    def __init__(self) -> None:
        self.smart: dict[float, LocalSmartTurnAnalyzerV3] = {}
        self.inference_ms: list[float] = []

    def smart_turn(self, limit_s: float) -> LocalSmartTurnAnalyzerV3:
        if limit_s not in self.smart:
            params = SmartTurnParams(stop_secs=limit_s)
            self.smart[limit_s] = LocalSmartTurnAnalyzerV3(sample_rate=RATE, params=params)
            self.smart[limit_s].set_sample_rate(RATE)
        return self.smart[limit_s]

    async def end(self, pcm: np.ndarray, setting: TurnSetting) -> float | None:
        """Audio seconds at which the turn ends (None: it never did)."""
        vad = SharedSileroVAD(sample_rate=RATE, params=VADParams(stop_secs=VAD_STOP_SECS))
        vad.set_sample_rate(RATE)
        smart = self.smart_turn(setting.silence_s)
        smart.clear()
        audio = np.concatenate([np.zeros(int(LEAD_S * RATE), np.int16), pcm])
        audio = np.concatenate([audio, np.zeros(int(TAIL_S * RATE), np.int16)])
        speaking, deadline = False, None
        for index in range(len(audio) // FRAME):
            frame = audio[index * FRAME : (index + 1) * FRAME].tobytes()
            now = (index + 1) * FRAME / RATE
            state = await vad.analyze_audio(frame)
            stopped = speaking and state == VADState.QUIET
            started = not speaking and state == VADState.SPEAKING
            speaking = state in (VADState.SPEAKING, VADState.STOPPING) and (speaking or started)
            if not setting.smart_turn:  # Pipecat's SpeechTimeoutUserTurnStopStrategy
                if started:
                    deadline = None
                if stopped:
                    deadline = now + setting.silence_s - VAD_STOP_SECS
                if deadline is not None and now >= deadline:
                    return now
                continue
            if smart.append_audio(frame, speaking) == EndOfTurnState.COMPLETE:
                return now
            if stopped:
                began = time.perf_counter()
                verdict, _ = await smart.analyze_end_of_turn()
                self.inference_ms.append((time.perf_counter() - began) * 1000)
                if verdict == EndOfTurnState.COMPLETE:
                    return now
        return None


def speech_end(pcm: np.ndarray) -> float:
    """Audio seconds at which the last word ends; a turn ended before it was cut in two."""
    return LEAD_S + (int(sounding(pcm)[-1]) + 1) / RATE


async def measure(every: int) -> dict[str, Any]:
    texts = sorted({c.text for c in load_cases(ROOT / "router/eval/dataset.jsonl") if c.simple})
    texts = texts[::every]
    whole = {t: await espeak_ssml(f"<speak>{t}</speak>") for t in texts}
    paused = {
        (t, p): await espeak_ssml(ssml)
        for t in texts
        for p in PAUSES_S
        if (ssml := with_pause(t, p)) is not None
    }
    ends = TurnEnds()
    result: dict[str, Any] = {"commands": len(texts)}
    for setting in SETTINGS:
        ends.inference_ms.clear()
        waits = []
        for pcm in whole.values():
            ended = await ends.end(pcm, setting)
            waits.append(((ended or LEAD_S + len(pcm) / RATE + TAIL_S) - speech_end(pcm)) * 1000)
        cut: dict[float, list[bool]] = {p: [] for p in PAUSES_S}
        for (_said, pause), pcm in paused.items():
            ended = await ends.end(pcm, setting)
            cut[pause].append(ended is not None and ended < speech_end(pcm))
        ordered = sorted(waits)
        result[setting.name] = {
            "wait_ms_p50": statistics.median(ordered),
            "wait_ms_p90": ordered[int(0.9 * (len(ordered) - 1))],
            "held_over_1s": sum(w > 1000 for w in waits) / len(waits),
            "cut_off": {str(p): sum(c) / len(c) for p, c in cut.items()},
            "smart_turn_ms_p50": statistics.median(ends.inference_ms) if ends.inference_ms else 0,
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=1, help="every Nth simple command")
    args = parser.parse_args()
    if shutil.which("espeak-ng") is None:
        sys.exit("needs espeak-ng (apt-get install espeak-ng)")
    logger.remove()
    logger.add(sys.stderr, level="ERROR")
    result = asyncio.run(measure(args.every))
    print(f"{result['commands']} commands, whole and with a pause after half their words")
    for setting in SETTINGS:
        row = result[setting.name]
        cuts = ", ".join(f"{p} s pause {c:.0%}" for p, c in row["cut_off"].items())
        print(
            f"{setting.name}: turn ends {row['wait_ms_p50']:.0f} ms after speech "
            f"(p90 {row['wait_ms_p90']:.0f}; over 1 s {row['held_over_1s']:.0%}); cut off: {cuts}; "
            f"Smart Turn {row['smart_turn_ms_p50']:.0f} ms"
        )


if __name__ == "__main__":
    main()
