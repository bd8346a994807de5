"""Profiles: who the assistant is acting for in this session; a profile owns its notes."""

import time

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from router.tools.names import quoted
from router.tools.registry import ToolContext, ToolError, phrase, tool
from shared.actions import AnyAction, ProfileSwitch
from shared.bus.profiles import Profile
from shared.bus.screen import UiState, change_ui
from shared.messages import ProfileName


async def load_profiles(ctx: ToolContext) -> dict[str, Profile]:
    """Known profiles by name; the profile in use is registered on first sight, while there
    are fewer than MAX_PROFILES."""
    profiles = await ctx.stores.profiles.load_all()
    if ctx.profile not in profiles:
        seen = Profile(name=ctx.profile, created_at=time.time())
        if await ctx.stores.profiles.add(seen):
            profiles[ctx.profile] = seen
    return profiles


_PROFILE_NAME = TypeAdapter(ProfileName)


def _profile_name(spoken: str) -> str:
    """ "Bob's profile" → "bob"; ToolError when it cannot be a profile name."""
    name = "-".join(spoken.casefold().removesuffix(" profile").removesuffix("'s").split())
    try:
        return _PROFILE_NAME.validate_python(name)
    except ValidationError:
        raise ToolError(f"{spoken!r} cannot be a profile name; use letters and digits") from None


class SwitchArgs(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    create: bool = Field(default=False, description="true to create it if it does not exist")


class DescribeArgs(BaseModel):
    name: str | None = Field(default=None, max_length=64, description="Omit for the current one")
    description: str | None = Field(
        default=None, max_length=300, description="Set a new description"
    )


class NoArgs(BaseModel):
    pass


_NAME = r"(?P<name>(?!(?:a|an|the|my|new|another|other|next|that|this|previous|last)\b)[a-z]{2,20})"
"""A profile's name: one word, not a word that points at some other profile."""


@tool(
    "Switch to another user profile (each has its own notes).",
    phrasings=(
        phrase(
            r"(?:switch|change) to (?P<name>[a-z]{2,20})'s profile",
            lambda m, _ui: {"name": m["name"]},
        ),
        phrase(
            r"(?:switch|change) (?:the )?profile to (?P<name>[a-z]{2,20})",
            lambda m, _ui: {"name": m["name"]},
        ),
        phrase(
            rf"(?:(?:switch|change|go|move|log ?in) (?:over )?to|use) (?:the |my )?{_NAME} profile",
            lambda m, _ui: {"name": m["name"]},
        ),
        phrase(
            rf"(?:create|make|add|set up) (?:a )?(?:new )?profile (?:called|named|for) {_NAME}",
            lambda m, _ui: {"name": m["name"], "create": True},
        ),
    ),
    asked=r"\b(profile|switch|log ?in|sign ?in|i am|i'm|this is|user)\b",
    says=lambda a: f"switch to the profile {quoted(a.name)}",
)
async def switch_profile(args: SwitchArgs, ctx: ToolContext) -> str:
    name = _profile_name(args.name)
    profiles = await load_profiles(ctx)
    if name not in profiles:
        if not args.create:
            raise ToolError(
                f"there is no profile {name!r}; profiles: {', '.join(profiles)}; "
                "ask whether to create it"
            )
        if not await ctx.stores.profiles.add(Profile(name=name, created_at=time.time())):
            raise ToolError("there are too many profiles already")

    def change(state: UiState) -> list[AnyAction]:
        state.profile = name
        state.current_note_id = None
        return [ProfileSwitch(profile=name)]

    await change_ui(ctx.publisher, change)
    ctx.profile = name
    return f"Switched to the {name} profile."


@tool(
    "List the user profiles.",
    phrasings=(
        phrase(
            r"(?:list|show me|show) (?:the |all |all the |my )?(?:profiles|users)"
            r"|(?:what|which) (?:profiles|users) (?:are there|do i have|exist)"
            r"|who are the users"
        ),
    ),
    reads_only=True,
)
async def list_profiles(args: NoArgs, ctx: ToolContext) -> str:
    profiles = await load_profiles(ctx)
    return "Profiles: " + ", ".join(
        f"{name}{' (current)' if name == ctx.profile else ''}" for name in sorted(profiles)
    )


@tool(
    "Describe a profile (its notes and description), or set its description.",
    phrasings=(
        phrase(
            rf"(?:tell me about|describe) (?:the )?{_NAME} profile",
            lambda m, _ui: {"name": m["name"]},
        ),
        phrase(r"(?:tell me about|describe) (?:my|this|the current) profile"),
    ),
    asked=r"\b(profile|describe|description)\b",
    says=lambda a: f"change the description of the profile {quoted(a.name or 'current')}",
)
async def describe_profile(args: DescribeArgs, ctx: ToolContext) -> str:
    name = _profile_name(args.name) if args.name else ctx.profile
    profiles = await load_profiles(ctx)
    if name not in profiles:
        raise ToolError(f"there is no profile {name!r}; profiles: {', '.join(profiles)}")
    profile = profiles[name]
    if args.description is not None:
        profile = profile.model_copy(update={"description": args.description})
        await ctx.stores.profiles.save(profile)
    notes = await ctx.stores.notes.count(name)
    about = f" {profile.description}." if profile.description else ""
    return f"Profile {name}: {notes} note{'s' if notes != 1 else ''}.{about}"


TOOLS = [switch_profile, list_profiles, describe_profile]
