"""The Playdeck worker: executes runs from the queue.

    python worker.py [--burst]

ansible-runner and the app are imported and set up here, before RQ forks a
work-horse for each run, so that no run pays for them.
"""

from __future__ import annotations

import argparse
import logging

import ansible_runner  # noqa: F401  (imported before forking, see above)
import ansible_runner.interface  # noqa: F401
import pexpect  # noqa: F401
from rq import Worker

from app import create_app, tasks
from app.queue import redis_connection, run_queue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--burst", action="store_true", help="stop once the queue is empty"
    )
    options = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    app = create_app()
    app.app_context().push()
    tasks.bind_app(app)

    worker = Worker(
        [run_queue()],
        connection=redis_connection(),
        work_horse_killed_handler=tasks.on_horse_killed,
    )
    worker.work(burst=options.burst, logging_level="INFO")


if __name__ == "__main__":
    main()
