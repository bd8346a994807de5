"""`python -m openclaw_worker`: one RQ worker for delegated tasks; run as many as you need."""

import logging
import os
import socket
import sys

from rq import Worker

# Imported here, before RQ forks a work horse per job, so each job starts with it loaded
# (importing it in every horse cost ~0.2 s a task).
import openclaw_worker.jobs
from shared.bus.connection import connect_blocking
from shared.bus.task_queue import JOB_SERIALIZER, openclaw_queues
from shared.settings import configure_logging, log_startup, process_settings

log = logging.getLogger("openclaw_worker")


def worker_name() -> str:
    """Unique per process, also across containers of a scaled service."""
    return f"openclaw-{socket.gethostname()}-{os.getpid()}"


def main() -> None:
    settings = process_settings()
    configure_logging(settings)
    log_startup("openclaw_worker", settings, uses_primary_model=False)
    if settings.openclaw_api_url is None:
        sys.exit("OPENCLAW_API_URL is not set: an OpenClaw worker has nothing to call.")
    connection = connect_blocking(settings.redis_url)
    # RQ's Worker forks a work horse per job (~20 ms), negligible next to an OpenClaw task, and
    # isolates tasks from each other. SIGTERM is a warm shutdown: the current job finishes.
    # Jobs are JSON and only task jobs run (TaskJob): the queue is data, not code.
    Worker(
        openclaw_queues(connection),
        connection=connection,
        name=worker_name(),
        job_class=openclaw_worker.jobs.TaskJob,
        serializer=JOB_SERIALIZER,
        work_horse_killed_handler=openclaw_worker.jobs.on_work_horse_killed,
    ).work(logging_level=settings.log_level.upper())


if __name__ == "__main__":
    main()
