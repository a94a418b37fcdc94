"""The Playdeck worker: executes runs from the queue.

    python worker.py [--burst]

ansible-runner and the app are imported and set up here, before RQ forks a
work-horse for each run, so that no run pays for them.

A worker asked to stop (SIGTERM or Ctrl-C) while it executes a run cancels that
run: its status is written at once and ansible is stopped as for a cancel. On
start, the worker reconciles once: runs left `running` by a worker that died
(this one, before a restart) end, and their leftover processes here are killed.
"""

from __future__ import annotations

import argparse
import gc
import logging

import ansible_runner  # noqa: F401  (imported before forking, see above)
import ansible_runner.interface  # noqa: F401
import pexpect  # noqa: F401
from rq import Worker, worker_registration

from app import create_app, tasks
from app.maintenance import reconcile_once
from app.queue import redis_connection, run_queue

log = logging.getLogger("worker")

# Seconds an idle worker waits on the queue between two heartbeats.
_IDLE_BEAT = 5


class RunWorker(Worker):
    """RQ's worker, which does not leave its run `running` when told to stop.

    RQ's warm shutdown waits for the job in progress however long it takes, and
    whoever asked for the stop (honcho, systemd) kills the worker a few seconds
    later: the run would stay `running` with nobody to end it.
    """

    _run_id: int | None = None

    def execute_job(self, job, queue):
        self._run_id = tasks.run_id_of(job)
        try:
            return super().execute_job(job, queue)
        finally:
            self._run_id = None

    def request_stop(self, signum, frame):
        if self._run_id is not None:
            tasks.stop_for_shutdown(self._run_id)
        super().request_stop(signum, frame)

    # A Redis that restarts forgets which workers exist; RQ never registers them
    # again, and pages and /readyz would say that no worker is alive. Each beat
    # checks, and an idle worker beats every few seconds instead of every 7 min.
    @property
    def dequeue_timeout(self) -> int:
        return _IDLE_BEAT

    def heartbeat(self, timeout=None, pipeline=None):
        super().heartbeat(timeout, pipeline)
        if pipeline is None:
            self._register_again_if_forgotten()

    def maintain_heartbeats(self, job, execution):
        super().maintain_heartbeats(job, execution)
        self._register_again_if_forgotten()

    def _register_again_if_forgotten(self) -> None:
        if self.connection.sismember(self.redis_workers_keys, self.key):
            return
        log.warning("Redis forgot worker %s (a restart?): registering again", self.name)
        with self.connection.pipeline() as pipeline:
            pipeline.hset(self.key, mapping=self.serialize())
            worker_registration.register(self, pipeline)
            pipeline.expire(self.key, self.worker_ttl + 60)
            pipeline.execute()


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
    try:
        reconcile_once()
    except Exception:  # the scheduler process reconciles again in a moment
        log.exception("reconciliation at start failed")

    worker = RunWorker(
        [run_queue()],
        connection=redis_connection(),
        work_horse_killed_handler=tasks.on_horse_killed,
        # Seconds between two checks of the work-horse, each with a heartbeat.
        job_monitoring_interval=_IDLE_BEAT,
    )
    # Everything made so far lives as long as the worker: out of the garbage
    # collector's sight, a work-horse's first full collection does not walk
    # (and so copy, page by page) the 90 MB it shares with the worker. Such a
    # collection took 270 ms in a horse here, 9 ms once frozen.
    gc.freeze()
    worker.work(burst=options.burst, logging_level="INFO")


if __name__ == "__main__":
    main()
