"""`make bench`: every benchmark, one after another in one process; writes
bench/results/latest.json and prints the markdown table (see bench/README.md)."""

import asyncio
import json
import os
import platform
import time
from datetime import UTC, datetime

import redis

from bench import (
    first_sentence,
    headline,
    memory,
    overhead,
    redis_capacity,
    router_cpu,
    scale,
    slow_path,
    soak,
    tier0,
    voice_latency,
    voice_to_voice,
)
from bench.common import ROOT, redis_url

BENCHMARK_TIMEOUT_S = 300


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "redis": redis.Redis.from_url(redis_url()).info("server")["redis_version"],
    }


def ms(stats: dict) -> str:
    return f"{stats['p50']:.2f} / {stats['p99']:.2f} ms"


def table(r: dict) -> str:
    h, o, f, s, sc, m, t = (
        r[k]
        for k in ("headline", "overhead", "first_sentence", "slow_path", "scale", "memory", "tier0")
    )
    rows = [
        ('1. "open my notes" to first chunk, hybrid (model path)', ms(h["hybrid_ms"])),
        ("1. the same, hybrid with tier 0", ms(h["hybrid_tier0_ms"])),
        ("1. the same, openclaw mode", ms(h["openclaw_ms"])),
        (
            "1. openclaw / hybrid (p50)",
            f"{h['ratio_p50']:.0f}x (tier 0: {h['ratio_tier0_p50']:.0f}x)",
        ),
        *[(f"2. overhead, {n} session(s)", ms(o[f"sessions_{n}"])) for n in (1, 10, 50)],
        ("2. floor: bare Redis relay (XADD→XREADGROUP→PUBLISH→receive)", ms(o["redis_floor"])),
        ("2. baseline: same turn in one process, no Redis hop", ms(o["in_process"])),
        ("3. first sentence: model's last token → chunk at voice side", ms(f["first_sentence_ms"])),
        *[
            (
                f"4. RQ enqueue → job start, {n} worker(s)",
                ms(s[f"workers_{n}"]["enqueue_to_start_ms"]),
            )
            for n in (1, 4)
        ],
        *[
            (
                f"4. gateway chunk → voice side, {n} worker(s)",
                ms(s[f"workers_{n}"]["chunk_relay_ms"]),
            )
            for n in (1, 4)
        ],
        *[
            (f"5. turns/s at saturation, {n} router(s)", f"{sc['turns_per_s'][f'routers_{n}']:.0f}")
            for n in (1, 2)
        ],
        *[
            (f"5. tasks/s, {n} worker(s)", f"{sc['tasks_per_s'][f'workers_{n}']:.1f}")
            for n in (1, 2, 4)
        ],
        ("6. peak RSS: router after 200 turns", f"{m['router_mb']:.0f} MiB"),
        ("6. peak RSS: OpenClaw worker (main process) after 20 tasks", f"{m['worker_mb']:.0f} MiB"),
        (
            "6. peak RSS: voice, 1 session / 10 sessions",
            f"{m['voice_1_session_mb']:.0f} / {m['voice_10_sessions_mb']:.0f} MiB",
        ),
        (
            "tier 0: decision",
            f"{t['tier0_decision_ms']['p50']:.3f} / {t['tier0_decision_ms']['p99']:.3f} ms",
        ),
    ]
    rows += cost_rows(r["router_cpu"], r["voice_latency"], r.get("redis_capacity"))
    rows += voice_to_voice_rows(r["voice_to_voice"])
    if "soak" in r:
        rows += soak_rows(r["soak"])
    lines = ["| benchmark | p50 / p99 (or value) |", "|---|---|"]
    return "\n".join([*lines, *(f"| {name} | {value} |" for name, value in rows)])


def cost_rows(c: dict, v: dict, capacity: dict | None) -> list[tuple[str, str]]:
    """Rows 7-9: what a turn costs the router and Redis, the voice side, one Redis's reach."""
    names = {
        "tool": "a tool turn (2 model calls)",
        "plain": "a plain answer (1 call)",
        "tier0": "a tier-0 turn",
        "delegated": "a delegated task (turn + worker)",
    }
    rows = [
        (
            f"7. router CPU / Redis CPU / Redis commands, {label}",
            f"{c[kind]['router_cpu_ms']:.2f} ms / {c[kind]['redis_cpu_ms']:.2f} ms / "
            f"{c[kind]['redis_commands']:.0f}",
        )
        for kind, label in names.items()
    ]
    rows.append(
        (
            "7. 50 sessions at 1 turn/s each, router in its own process",
            ms(c["paced_50_sessions_ms"]),
        )
    )
    rows += [
        ("8. voice: typed text → turn on the stream", ms(v["typed_to_stream_ms"])),
        ("8. voice: spoken turn ended → turn on the stream", ms(v["spoken_to_stream_ms"])),
        (
            "8. voice: first text chunk published → first espeak-ng audio frame",
            ms(v["chunk_to_audio_ms"]) if v["chunk_to_audio_ms"] else "skipped (no espeak-ng)",
        ),
    ]
    if capacity is not None:
        rows.append(
            (
                "9. one Redis at saturation (redis-benchmark, tool-turn mix)",
                f"{capacity['turns_per_s']:.0f} turns/s",
            )
        )
    return rows


def voice_to_voice_rows(v: dict) -> list[tuple[str, str]]:
    """Row 11: end of speech → first sound of the answer, with its parts (p50)."""
    if "skipped" in v:
        return [("11. voice to voice (real speech in and out)", f"skipped: {v['skipped']}")]
    rows = []
    for name, label in (("hybridbot", "hybridbot"), ("pipecat_defaults", "Pipecat's defaults")):
        for path in ("tier0", "model"):
            row = v[name][path]
            if not row:
                continue
            parts = ", ".join(
                f"{part} {row[part]['p50']:.0f}" for part in ("turn_end", "stt", "router", "tts")
            )
            rows.append(
                (
                    f"11. voice to voice, {path.replace('tier0', 'tier 0')}, {label} ({parts} ms)",
                    ms(row["total"]),
                )
            )
    return rows


def soak_rows(soak_result: dict) -> list[tuple[str, str]]:
    """Row 10: what sessions that came and went left in each service."""
    rows = soak_result["rows"]
    baseline = next(row for row in rows if "baseline" in row["at"])
    after = next(row for row in rows if row["at"].endswith(f"{soak_result['sessions']} sessions"))
    end = rows[-1]
    head = (
        f"10. soak, {soak_result['answered']}/{soak_result['sessions']} WebRTC sessions then "
        f"{soak_result['half_open_offers']} half-open offers"
    )
    return [
        (
            f"{head}: voice RSS, baseline → after the sessions → end (peak)",
            f"{baseline['voice_rss_mb']:.0f} → {after['voice_rss_mb']:.0f} → "
            f"{end['voice_rss_mb']:.0f} MB ({end['voice_peak_rss_mb']:.0f})",
        ),
        (
            "10. voice open files / Redis client connections, baseline → end",
            f"{baseline['voice_open_files']:.0f} → {end['voice_open_files']:.0f} / "
            f"{baseline['redis_clients']} → {end['redis_clients']}",
        ),
        (
            "10. router / worker RSS growth, baseline → end",
            f"{soak_result['router_rss_mb_growth']:+.1f} / "
            f"{soak_result['worker_rss_mb_growth']:+.1f} MB",
        ),
    ]


async def main() -> dict:
    started = time.monotonic()
    results: dict = {"machine": machine()}
    for name, module in (
        ("headline", headline),
        ("overhead", overhead),
        ("first_sentence", first_sentence),
        ("slow_path", slow_path),
        ("scale", scale),
        ("memory", memory),
        ("router_cpu", router_cpu),
        ("voice_latency", voice_latency),
        ("voice_to_voice", voice_to_voice),
    ):
        print(f"running {name} ...", flush=True)
        began = time.monotonic()
        results[name] = await asyncio.wait_for(module.run(), BENCHMARK_TIMEOUT_S)
        print(f"  {name}: {time.monotonic() - began:.0f} s", flush=True)
    results["redis_capacity"] = redis_capacity.run(results["router_cpu"]["tool"]["by_command"])
    print("running soak ...", flush=True)
    results["soak"] = await asyncio.to_thread(
        soak.measure,
        int(os.environ.get("SOAK_SESSIONS", "200")),
        int(os.environ.get("SOAK_HALF_OPEN", "100")),
    )
    results["tier0"] = await tier0.main()
    results["wall_s"] = time.monotonic() - started
    return results


if __name__ == "__main__":
    measured = asyncio.run(main())
    (ROOT / "bench/results").mkdir(exist_ok=True)
    (ROOT / "bench/results/latest.json").write_text(json.dumps(measured, indent=2))
    info = measured["machine"]
    print(
        f"\n{info['date']}, {info['cpus']} CPUs ({info['cpu']}), Python {info['python']}, "
        f"Redis {info['redis']}; all benchmarks in {measured['wall_s']:.0f} s\n"
    )
    print(table(measured))
