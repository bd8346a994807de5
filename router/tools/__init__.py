"""The fast tools the router runs inline; one module per tool family."""

from router.tools import calculator, notes
from router.tools.registry import ToolRegistry

FAMILIES = (calculator, notes)


def fast_tools() -> ToolRegistry:
    """Every fast tool of every family."""
    return ToolRegistry(item for family in FAMILIES for item in family.TOOLS)
