"""Redis restarted under a worker with runs queued and running.

The embedded Redis keeps nothing on disk: a restart loses every RQ job. The run
that had started ends `error`; the runs that had not are queued again, once, and
execute once.
"""

from __future__ import annotations

import collections

import pytest

from app.embedded_redis import EmbeddedRedis
from app.extensions import db
from app.models import Event, Run, RunStatus
from app.runner import process
from app.runner.spec import run_marker
from app.services import runs

from processes import alive, command_runs, status, wait_for, work_horse

pytestmark = [pytest.mark.slow, pytest.mark.all_databases]


@pytest.fixture
def redis_server(tmp_path_factory):
    """A Redis of this test's own, replacing the session's: the test restarts it."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis") / "redis.sock")
    with server:
        yield server


def test_runs_queued_are_queued_again_once_and_a_started_one_ends_error(
    app, settings, make, redis_server, worker_processes, scheduler_process
):
    worker_processes(1)
    started = runs.launch(make.job(module="command", args="sleep 300"))
    marker = run_marker(started.id, settings.database_url)
    wait_for(lambda: command_runs(marker), 90, "the first run's command")
    horse = work_horse(marker)
    # The only worker is busy: these two wait in the queue.
    waiting = [runs.launch(make.job(module="ping")) for _ in range(2)]

    redis_server.stop()
    redis_server.start()

    wait_for(lambda: status(started.id) == RunStatus.ERROR, 40, "the run to end")
    assert "Redis lost the run's job" in db.session.get(Run, started.id).error
    wait_for(
        lambda: not process.run_processes(marker) and not alive(horse),
        20,
        "no process of the run",
    )
    for run in waiting:
        wait_for(lambda r=run: status(r.id) == RunStatus.SUCCESSFUL, 90, f"{run}")
        assert db.session.get(Run, run.id).requeued == 1
    oks = collections.Counter(
        run_id
        for (run_id,) in db.session.query(Event.run_id).filter(
            Event.run_id.in_([run.id for run in waiting]),
            Event.type == "runner_on_ok",
        )
    )
    assert oks == {run.id: 1 for run in waiting}, "each executed once"
