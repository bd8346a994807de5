"""The bridge to the slow path: delegate a task to OpenClaw, ask how it is going, cancel it.

Only offered in hybrid mode. Delegating returns at once; an OpenClaw worker speaks the answer
when it arrives.
"""

import hashlib
import re
import time

from pydantic import BaseModel, Field

from router.tools.names import in_their_words, quoted
from router.tools.registry import ToolContext, ToolError, tool
from shared.bus.tasks import (
    FINISHED,
    TaskRecord,
)
from shared.messages import new_id


def task_id_for(ctx: ToolContext) -> str:
    """Stable per tool call, so a turn answered twice (after a router crash) delegates once."""
    if not ctx.call_id:
        return f"task-{new_id()}"
    digest = hashlib.sha256(f"{ctx.session_id}\0{ctx.call_id}".encode()).hexdigest()
    return f"task-{digest[:16]}"


_ADDRESS = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail
    r"|\b(?:https?://|www\.)\S+"  # URL
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|io|dev|ai|co|me|info|xyz|ru|cn)\b"  # domain
    r"|\+?\d[\d -]{7,}\d"  # phone number
)


def addresses_in(args: "DelegateArgs") -> list[str]:
    """Where a task could send or fetch something (e-mail, URL, domain, phone number): the user
    must have said each one this turn, so no text they did not say can point OpenClaw at it."""
    return _ADDRESS.findall(args.task)


def _label(task: str) -> str:
    words = task.split()
    return "your request" if not words else "the task '" + " ".join(words[:5]) + "'"


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{int(seconds)} seconds ago"
    return f"{int(seconds // 60)} minutes ago"


def _pick(tasks: list[TaskRecord], which: str | None, running_only: bool) -> TaskRecord:
    candidates = [t for t in tasks if not running_only or t.status not in FINISHED]
    if which:
        wanted = which.casefold()
        candidates = [t for t in candidates if wanted in f"{t.label} {t.task}".casefold()]
    if not candidates:
        raise ToolError("no delegated task is running" if running_only else "there are no tasks")
    return candidates[-1]


class DelegateArgs(BaseModel):
    task: str = Field(
        min_length=3, max_length=4000, description="Self-contained instructions for OpenClaw"
    )
    label: str = Field(
        default="", max_length=60, description="2-5 words naming it, e.g. 'the GPU research'"
    )


class WhichTaskArgs(BaseModel):
    which: str | None = Field(default=None, max_length=100, description="Words of its topic")


@tool(
    "Delegate complex work to OpenClaw: web research, code execution, multi-step reasoning, "
    "deep analysis, file manipulation, anything needing outside capabilities. Returns at once; "
    "the answer is spoken when ready.",
    asked=lambda a, said: in_their_words(a.task, said),
    says=lambda a: f"hand this task to OpenClaw: {quoted(a.task, 120)}",
    target=addresses_in,
)
async def bot_openclaw_task(args: DelegateArgs, ctx: ToolContext) -> str:
    if ctx.task_queue is None:
        raise ToolError("delegating tasks is not available here")
    quota, task_id = ctx.task_queue.quota, task_id_for(ctx)
    tasks = await ctx.stores.tasks.of_session(ctx.session_id)
    started = next((t for t in tasks if t.task_id == task_id), None)
    if started is not None:
        return f"{started.label} was already started; it is {started.status}."
    open_tasks = [t for t in tasks if t.status not in FINISHED]
    if len(open_tasks) >= quota.max_open:
        raise ToolError(
            f"{len(open_tasks)} tasks are already running, the most at once; it was not started. "
            "The user can wait for one to finish or cancel one."
        )
    if await ctx.stores.tasks.this_hour(ctx.session_id) >= quota.per_hour:
        raise ToolError(
            f"{quota.per_hour} tasks were started this hour, the most allowed; it was not "
            "started. The user can ask again later."
        )
    record = TaskRecord(
        task_id=task_id,
        session_id=ctx.session_id,
        profile=ctx.profile,
        task=args.task,
        label=args.label.strip() or _label(args.task),
    )
    if not await ctx.stores.tasks.create(record):
        existing = await ctx.stores.tasks.load(ctx.session_id, record.task_id)
        status = existing.status if existing else "unknown"
        return f"{record.label} was already started; it is {status}."
    await ctx.task_queue.enqueue(record, behind_others=bool(open_tasks))
    await ctx.stores.tasks.response(record).status("queued", record.label)
    return (
        f"Started {record.label} in the background. Tell the user in a few words that you are on "
        "it and will say the answer when it is ready."
    )


@tool(
    "Say how a delegated OpenClaw task is going (default: the latest).",
    reads_only=True,
)
async def openclaw_task_status(args: WhichTaskArgs, ctx: ToolContext) -> str:
    task = _pick(await ctx.stores.tasks.of_session(ctx.session_id), args.which, False)
    age = _ago(time.time() - task.created_at)
    if task.status in ("queued", "started"):
        state = "waiting for a worker" if task.status == "queued" else "running"
        return f"{task.label} is {state}; it was started {age}."
    if task.status == "done":
        return f"{task.label} is done; its answer was: {task.answer_preview}"
    return f"{task.label} {task.status} ({task.error or 'no details'}); it was started {age}."


@tool(
    "Cancel a running delegated OpenClaw task (default: the latest).",
    asked=r"\b(cancel|stop|abort|kill|forget|never mind|drop)\b",
    says=lambda a: f"cancel the task {quoted(a.which) if a.which else 'started last'}",
)
async def cancel_openclaw_task(args: WhichTaskArgs, ctx: ToolContext) -> str:
    task = _pick(await ctx.stores.tasks.of_session(ctx.session_id), args.which, True)
    await ctx.stores.tasks.request_cancel(ctx.session_id, task.task_id)
    if ctx.task_queue is not None and await ctx.task_queue.cancel_if_queued(task):
        await ctx.stores.tasks.update(task, status="cancelled")
        publisher = ctx.stores.tasks.response(task)
        await publisher.status("cancelled", task.label, f"Cancelled {task.label}.")
        await publisher.done("cancelled")
    return f"Cancelling {task.label}."


TOOLS = [bot_openclaw_task, openclaw_task_status, cancel_openclaw_task]
