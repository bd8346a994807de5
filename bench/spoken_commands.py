"""Spoken-command robustness: is tier 0 still right when the words come through speech?

    python bench/spoken_commands.py [--every N] [--sets dataset fresh holdout]

Each simple command of the eval sets (what tier 0 may answer) is said by espeak-ng, padded
with 0.3 s of silence as a VAD segment holds it, and transcribed by local Whisper
(VOICE_WHISPER_MODEL, default where `local-stt.sh setup` puts Whisper base, int8 on the CPU)
in this process with hybridbot's fast decoding (`voice/local_stt.py`: greedy, no timestamps)
over Whisper's own 30 s encoder window and over the short window hybridbot uses (10 s), with
and without faster-whisper's temperature fallback (decoding again when unsure).
(faster-whisper's default beam 5 was measured against greedy in an earlier run: README.)
Tier 0 decides on the text and on each transcript; reported: how often it is right on each
(coverage), how often an answer it gives is wrong (precision), and the transcription time;
then the same if tier 0 acted only on confident transcripts (CONFIDENCE_FLOOR).
Needs espeak-ng and the model; prints why not when either is missing.
"""

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from router.eval.scoring import Case, arguments_match, load_cases  # noqa: E402
from router.tier0 import Tier0  # noqa: E402
from router.tools import fast_tools  # noqa: E402
from shared.bus.screen import UiState  # noqa: E402

MODEL_DIR = os.environ.get("VOICE_WHISPER_MODEL", "/var/tmp/local-stt/whisper-base")
EVAL = ROOT / "router" / "eval"
PAD = np.zeros(int(0.3 * 16000), np.float32)
CONFIDENCE_FLOOR = -0.4
"""A transcript whose least sure segment averages a lower log-probability per token is not
acted on by tier 0 in the `floor` rows (chosen on every other command, checked on the rest)."""


WINDOWS = (30, 10)


def decoders() -> dict[str, tuple[int, dict[str, Any]]]:
    """Each way of transcribing measured: (encoder window in seconds, decoding options)."""
    from voice.local_stt import FAST_DECODING

    once = {**FAST_DECODING, "temperature": 0.0}
    return {
        "30 s window, greedy": (30, FAST_DECODING),
        "10 s window, greedy": (10, FAST_DECODING),
        "10 s window, greedy, no fallback": (10, once),
    }


def right(tier0: Tier0, case: Case, text: str) -> bool | None:
    """True: tier 0 does what the case expects; False: it does something else; None: it
    leaves it to the model."""
    call = tier0.decide(text, UiState.model_validate(case.screen or {}))
    if call is None:
        return None
    return call.tool == case.expect and arguments_match(case.args, call.arguments)


def rates(outcomes: list[bool | None]) -> dict[str, float]:
    answered = [o for o in outcomes if o is not None]
    return {
        "coverage": sum(o is True for o in outcomes) / len(outcomes),
        "precision": sum(answered) / len(answered) if answered else 1.0,
    }


async def measure(sets: list[str], every: int) -> dict[str, Any]:
    from voice.espeak_tts import spoken
    from voice.local_stt import WindowedWhisperModel

    cases = [c for name in sets for c in load_cases(EVAL / f"{name}.jsonl") if c.simple][::every]
    models = {
        window: WindowedWhisperModel(
            MODEL_DIR, device="cpu", compute_type="int8", window_seconds=window
        )
        for window in WINDOWS
    }
    tier0 = Tier0(fast_tools(delegation=True))
    on_text = [right(tier0, case, case.text) for case in cases]
    result: dict[str, Any] = {"cases": len(cases), "text": rates(on_text)}
    heard: dict[str, list[tuple[str, str]]] = {}
    for name, (window, options) in decoders().items():
        model = models[window]
        outcomes, sure, times, misheard = [], [], [], []
        for case in cases:
            pcm = np.frombuffer(await spoken(case.text), np.int16).astype(np.float32) / 32768
            audio = np.concatenate([PAD, pcm, PAD])
            started = time.perf_counter()
            segments = list(model.transcribe(audio, language="en", **options)[0])
            transcript = "".join(s.text for s in segments).strip()
            confidence = min((s.avg_logprob for s in segments), default=-99.0)
            times.append((time.perf_counter() - started) * 1000)
            outcome = right(tier0, case, transcript)
            outcomes.append(outcome)
            sure.append(outcome if confidence >= CONFIDENCE_FLOOR else None)
            if outcome is not True and right(tier0, case, case.text) is True:
                misheard.append((case.text, transcript))
        result[name] = {
            **rates(outcomes),
            "floor": rates(sure),
            "stt_ms_p50": statistics.median(times),
            "stt_ms_p90": sorted(times)[int(0.9 * (len(times) - 1))],
        }
        heard[name] = misheard
    result["lost"] = heard
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=1, help="every Nth simple case")
    parser.add_argument("--sets", nargs="+", default=["dataset", "fresh", "holdout"])
    parser.add_argument("--json", type=Path, help="write the numbers here")
    args = parser.parse_args()
    if shutil.which("espeak-ng") is None:
        sys.exit("needs espeak-ng (apt-get install espeak-ng)")
    if not (Path(MODEL_DIR) / "model.bin").is_file():
        sys.exit(f"no Whisper model at {MODEL_DIR}: set VOICE_WHISPER_MODEL to one")
    result = asyncio.run(measure(args.sets, args.every))
    print(f"{result['cases']} simple commands, tier 0 on the text: {result['text']}")
    for name in decoders():
        row = result[name]
        print(
            f"{name}: coverage {row['coverage']:.1%} (text {result['text']['coverage']:.1%}), "
            f"precision {row['precision']:.1%}, STT p50 {row['stt_ms_p50']:.0f} ms, "
            f"p90 {row['stt_ms_p90']:.0f} ms; acting only on transcripts of confidence >= "
            f"{CONFIDENCE_FLOOR}: coverage {row['floor']['coverage']:.1%}, "
            f"precision {row['floor']['precision']:.1%}"
        )
        for said, transcript in result["lost"][name]:
            print(f"    {said!r} -> {transcript!r}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
