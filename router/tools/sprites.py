"""Sprites: the assistant's on-screen character: show, hide, switch character or animation."""

from pydantic import BaseModel, Field, field_validator

from router.tools.registry import ToolContext, phrase, tool
from shared.actions import AnyAction, SpriteSet
from shared.bus.screen import UiState, change_ui

SPRITES = ("robot", "cat", "fox", "owl", "ghost")
ANIMATIONS = ("idle", "wave", "dance", "jump", "sleep", "think", "talk", "celebrate")


def _one_of(value: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    if value is None:
        return None
    value = value.casefold().strip()
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; {what}s: {', '.join(allowed)}")
    return value


class SpriteArgs(BaseModel):
    sprite: str | None = Field(default=None, description=f"One of: {', '.join(SPRITES)}")
    animation: str | None = Field(default=None, description=f"One of: {', '.join(ANIMATIONS)}")
    visible: bool | None = Field(default=None, description="false hides the sprite")

    @field_validator("sprite")
    @classmethod
    def _known_sprite(cls, value: str | None) -> str | None:
        return _one_of(value, SPRITES, "sprite")

    @field_validator("animation")
    @classmethod
    def _known_animation(cls, value: str | None) -> str | None:
        return _one_of(value, ANIMATIONS, "animation")


@tool(
    "Show, hide or change the on-screen sprite character or its animation.",
    phrasings=(
        phrase(
            rf"make the (?P<sprite>{'|'.join(SPRITES)}) (?P<animation>{'|'.join(ANIMATIONS)})",
            lambda m, _ui: {"sprite": m["sprite"], "animation": m["animation"]},
        ),
        phrase(r"hide the sprite", {"visible": False}),
        phrase(r"show the sprite(?: again)?", {"visible": True}),
    ),
)
async def set_sprite(args: SpriteArgs, ctx: ToolContext) -> str:
    def change(state: UiState) -> list[AnyAction]:
        sprite = state.sprite
        sprite.sprite = args.sprite or sprite.sprite
        sprite.animation = args.animation or sprite.animation
        if args.visible is not None:
            sprite.visible = args.visible
        elif args.sprite or args.animation:
            sprite.visible = True
        return [SpriteSet(sprite=sprite.sprite, animation=sprite.animation, visible=sprite.visible)]

    sprite = (await change_ui(ctx.publisher, change)).sprite
    if not sprite.visible:
        return "Sprite hidden."
    return f"The {sprite.sprite} is now {sprite.animation}."


TOOLS = [set_sprite]
