"""The fast tools the router runs inline; one module per tool family."""

from router.tools import (
    calculator,
    misc,
    notes,
    profiles,
    soundtrack,
    sprites,
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
    "misc": misc,
}


def fast_tools() -> ToolRegistry:
    """Every fast tool of every family."""
    return ToolRegistry(item for family in FAMILIES.values() for item in family.TOOLS)
