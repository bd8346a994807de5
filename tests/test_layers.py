"""The shape of the tree: services meet only in `shared/`, and only `shared/bus/` talks to Redis.

Read from the source with `ast`, so a new module that breaks a rule fails here, not in review.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("router", "voice", "openclaw_worker")
REDIS_RECEIVERS = {"redis", "pipe", "pipeline", "pubsub"}
"""Names a Redis client goes by in this code base (`self.redis`, `ctx.redis`, `pipe`, ...)."""
REDIS_COMMANDS = {
    "delete", "eval", "execute_command", "exists", "expire", "get", "hdel", "hget", "hgetall",
    "hincrby", "hlen", "hset", "hsetnx", "hvals", "incr", "lpush", "lrange", "ltrim", "multi",
    "ping", "pipeline", "publish", "pubsub", "rpush", "sadd", "set", "sismember", "smembers",
    "srem", "watch", "xack", "xadd", "xautoclaim", "xclaim", "xgroup_create", "xpending_range",
    "xrange", "xread", "xreadgroup", "xrevrange", "zadd", "zrange", "zrangebyscore", "zrem",
}  # fmt: skip


def modules() -> list[Path]:
    packages = [*SERVICES, "shared", "scripts"]
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def receiver_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def redis_calls(path: Path) -> list[str]:
    """`receiver.command(` calls on what looks like a Redis client, as `line: text`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in REDIS_COMMANDS
            and receiver_name(node.func.value) in REDIS_RECEIVERS
        ):
            found.append(f"{node.lineno}: {ast.unparse(node)[:80]}")
    return found


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", modules(), ids=relative)
def test_services_meet_only_in_shared(path: Path) -> None:
    own = relative(path).split("/")[0]
    others = {s for s in SERVICES if s != own} | (set(SERVICES) if own == "shared" else set())
    crossing = {name for name in imported(path) if name.split(".")[0] in others}
    assert not crossing, f"{relative(path)} imports {sorted(crossing)}"


@pytest.mark.parametrize(
    "path", [p for p in modules() if "shared/bus/" not in relative(p)], ids=relative
)
def test_only_the_bus_names_keys_or_sends_redis_commands(path: Path) -> None:
    assert not imported(path) & {"shared.bus.keys"}, f"{relative(path)} names Redis keys"
    assert not redis_calls(path), f"{relative(path)} talks to Redis: {redis_calls(path)}"


def test_the_check_sees_a_raw_command(tmp_path: Path) -> None:
    """The scan above is not vacuous: it finds the idioms it forbids."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "async def f(ctx, self):\n"
        "    await ctx.redis.hset('k', 'f', 'v')\n"
        "    async with self.redis.pipeline() as pipe:\n"
        "        pipe.incr('n')\n"
        "    {}.get('not redis')\n"
    )
    assert [line.split(":")[0] for line in redis_calls(sample)] == ["2", "3", "4"]


def test_no_import_cycles_between_modules() -> None:
    """Module-level imports form no cycle (a cycle means two modules own one idea)."""
    paths = {relative(p).removesuffix(".py").replace("/", "."): p for p in modules()}
    paths = {name.removesuffix(".__init__"): path for name, path in paths.items()}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        top_level = [
            n
            for n in ast.parse(path.read_text()).body
            if isinstance(n, ast.Import | ast.ImportFrom)
        ]
        targets = set()
        for node in top_level:
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or "", *(f"{node.module}.{a.name}" for a in node.names)]
            )
            targets |= {t for t in names if t in paths and t != name}
        graph[name] = targets

    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in graph[node]:
            if state.get(target) == 1:
                pytest.fail("import cycle: " + " → ".join([*trail, node, target]))
            if target not in state:
                visit(target, [*trail, node])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [])


def test_tools_get_stores_not_the_redis_client_or_the_settings() -> None:
    """A tool reaches Redis through a store and reads only the settings ToolContext names."""
    from dataclasses import fields
    from typing import get_type_hints

    import redis.asyncio as aioredis

    from router.tools.registry import ToolContext
    from shared.settings import Settings

    hints = get_type_hints(ToolContext)
    assert not [f.name for f in fields(ToolContext) if hints[f.name] in (aioredis.Redis, Settings)]
    for path in sorted((ROOT / "router" / "tools").glob("*.py")):
        assert "shared.settings.Settings" not in imported(path), path
