"""The fast tools the router runs inline; one module per tool family."""

from router.tools import (
    calculator,
    misc,
    notes,
    openclaw,
    profiles,
    soundtrack,
    sprites,
    timers,
    views,
    windows,
    youtube,
)
from router.tools.registry import ToolRegistry

FAMILIES = {
    "notes": notes,
    "youtube": youtube,
    "windows": windows,
    "soundtrack": soundtrack,
    "sprites": sprites,
    "views": views,
    "profiles": profiles,
    "calculator": calculator,
    "timers": timers,
    "misc": misc,
}


DELEGATION = openclaw
"""The bridge tools, offered in hybrid mode only."""


def fast_tools(delegation: bool = False) -> ToolRegistry:
    """Every fast tool of every family, plus the bridge to OpenClaw when `delegation`."""
    families = [*FAMILIES.values(), *([DELEGATION] if delegation else [])]
    return ToolRegistry(item for family in families for item in family.TOOLS)
