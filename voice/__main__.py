"""`python -m voice --text`: the text console on the real bus."""

import argparse
import asyncio
import sys

from shared.connection import connect_redis, wait_for_redis
from shared.settings import Settings, configure_logging
from voice.bridge import SessionBridge
from voice.console import default_session_id, run_console


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m voice", description=__doc__)
    parser.add_argument("--text", action="store_true", help="text console instead of speech")
    parser.add_argument("--session", default=None, help="resume this session id")
    parser.add_argument("--profile", default="default", help="user profile (owns the notes)")
    return parser.parse_args(argv)


async def console_main(settings: Settings, session_id: str, profile: str) -> int:
    redis = connect_redis(settings.redis_url)
    try:
        await wait_for_redis(redis, settings.redis_url, timeout=15)
        async with SessionBridge(redis, session_id, profile) as bridge:
            return await run_console(bridge)
    finally:
        await redis.aclose()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings = Settings()
    configure_logging(settings)
    if not args.text:
        sys.exit("The speech pipeline is not built yet; run `python -m voice --text`.")
    try:
        code = asyncio.run(
            console_main(settings, args.session or default_session_id(), args.profile)
        )
    except KeyboardInterrupt:
        code = 0
    sys.exit(code)


if __name__ == "__main__":
    main()
