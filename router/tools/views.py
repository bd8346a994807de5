"""Views: switch the screen's layout (desktop, notes, media, focus, gallery)."""

from pydantic import BaseModel, Field, field_validator

from router.tools.names import quoted
from router.tools.registry import ToolContext, phrase, tool
from shared.actions import AnyAction, ViewSwitch
from shared.bus.screen import UiState, change_ui

VIEWS = ("desktop", "notes", "media", "focus", "gallery", "minimal")


class ViewArgs(BaseModel):
    view: str = Field(description=f"One of: {', '.join(VIEWS)}")

    @field_validator("view")
    @classmethod
    def _known_view(cls, value: str) -> str:
        value = value.casefold().strip().removesuffix(" view").removesuffix(" mode").strip()
        if value not in VIEWS:
            raise ValueError(f"unknown view {value!r}; views: {', '.join(VIEWS)}")
        return value


@tool(
    "Switch the screen to another view or layout.",
    phrasings=(
        phrase(
            rf"(?:switch to|go to|change to|show)(?: the)? (?P<view>{'|'.join(VIEWS)}) "
            r"(?:view|layout|mode)",
            lambda m, _ui: {"view": m["view"]},
        ),
        phrase(rf"(?P<view>{'|'.join(VIEWS)}) (?:view|mode)", lambda m, _ui: {"view": m["view"]}),
        phrase(r"show the desktop|(?:go )?back to the desktop(?: view)?", {"view": "desktop"}),
    ),
    asked=rf"\b(view|mode|screen|layout|switch|show|go to|{'|'.join(VIEWS)})\b",
    says=lambda a: f"switch to the {quoted(a.view)} view",
)
async def switch_view(args: ViewArgs, ctx: ToolContext) -> str:
    def change(state: UiState) -> list[AnyAction]:
        state.view = args.view
        return [ViewSwitch(view=args.view)]

    await change_ui(ctx.publisher, change)
    return f"Switched to the {args.view} view."


TOOLS = [switch_view]
