"""Sprites: the assistant's on-screen character: show, hide, switch character or animation."""

import re
from typing import Any

from pydantic import BaseModel, Field, field_validator

from router.tools.registry import Phrasing, ToolContext, phrase, tool
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


_NOUN = r"sprite|mascot|character|buddy|avatar|companion|little guy|helper"
_ANIMATIONS = {
    "wave": "wave",
    "wave hello": "wave",
    "dance": "dance",
    "do a dance": "dance",
    "do a little dance": "dance",
    "jump": "jump",
    "do a jump": "jump",
    "jump around": "jump",
    "sleep": "sleep",
    "go to sleep": "sleep",
    "take a nap": "sleep",
    "think": "think",
    "talk": "talk",
    "celebrate": "celebrate",
    "stand still": "idle",
    "be idle": "idle",
}
_CHARACTER = rf"(?:(?:the|my|your|our) )?(?:{'|'.join(SPRITES)}|{_NOUN})"
"""The character: a word for it, or the name of a sprite."""
_ANIMATION = "|".join(sorted(_ANIMATIONS, key=len, reverse=True))
_VISIBLE_WORDS = {
    False: r"(?:hide|remove|dismiss|get rid of) {c}|make {c} (?:disappear|go away|invisible)"
    r"|{c} (?:go away|disappear)|turn off {c}|turn {c} off",
    True: r"(?:show|unhide|bring back) {c}(?: again| back)?|bring {c} back"
    r"|make {c} (?:appear|visible|come back)|turn on {c}|turn {c} on",
}


def _on_screen(match: re.Match[str], ui: UiState, changes: dict[str, Any]) -> dict[str, Any] | None:
    """`changes`, when the character the user named is the one on screen (a sprite's name
    that is not on screen, "hide the cat" with the robot showing, is left to the model)."""
    named = _sprite_named(match[0])
    if named is not None and named != ui.sprite.sprite:
        return None
    return changes


def _visibility(visible: bool) -> Phrasing:
    pattern = _VISIBLE_WORDS[visible].format(c=_CHARACTER)
    return phrase(pattern, lambda m, ui: _on_screen(m, ui, {"visible": visible}))


def _animate(match: re.Match[str], _ui: UiState) -> dict[str, Any]:
    changes: dict[str, Any] = {"animation": _ANIMATIONS[match["animation"]]}
    named = _sprite_named(match[0].removesuffix(match["animation"]))
    if named is not None:
        changes["sprite"] = named  # "make the owl dance" shows the owl, dancing
    return changes


def _sprite_named(said: str) -> str | None:
    return next((word for word in said.split() if word in SPRITES), None)


@tool(
    "Show, hide or change the on-screen sprite character or its animation.",
    phrasings=(
        phrase(
            rf"(?:make|let|have) (?:{_CHARACTER}|it|him|her) (?P<animation>{_ANIMATION})", _animate
        ),
        # Not "can it talk": a question about the assistant as much as a request to the sprite.
        phrase(rf"(?:can|could) {_CHARACTER} (?P<animation>{_ANIMATION})", _animate),
        _visibility(False),
        _visibility(True),
        phrase(
            rf"(?:change|switch|turn) (?:(?:the|my|your) )?(?:{_NOUN}) (?:in)?to (?:a |an |the )?"
            rf"(?P<sprite>{'|'.join(SPRITES)})",
            lambda m, _ui: {"sprite": m["sprite"]},
        ),
        phrase(
            rf"(?:use|pick|choose|show me) (?:the |a )?(?P<sprite>{'|'.join(SPRITES)}) (?:{_NOUN})",
            lambda m, _ui: {"sprite": m["sprite"]},
        ),
    ),
    asked=rf"\b(sprite|avatar|character|buddy|hide|show|{'|'.join((*SPRITES, *ANIMATIONS))})\b",
    says=lambda a: "change the sprite",
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
