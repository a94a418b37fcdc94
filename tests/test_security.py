"""An attacker's view of Playdeck: secrets that must not leak out of a run,
sessions that must end, inputs that must not reach further than they should.

Each test here is about a way in that was found open and is now closed, or
about a defence whose regression would go unnoticed elsewhere.
"""

from __future__ import annotations

from app.extensions import db
from app.models import Event
from app.services import runs


def _log(run) -> str:
    events = db.session.query(Event).filter_by(run_id=run.id).order_by(Event.seq)
    return "\n".join(event.stdout for event in events if event.stdout)


# What a run's processes and log hold


def test_ansible_runs_without_playdeck_s_settings_in_its_environment(
    make, run_worker, monkeypatch
):
    # As a worker started with its settings in the environment has them.
    monkeypatch.setenv("PLAYDECK_SECRET_KEY", "the-key-that-signs-sessions")
    monkeypatch.setenv(
        "PLAYDECK_DATABASE_URL", "postgresql://playdeck:db-password@db/playdeck"
    )
    job = make.job(module="shell", args="env")  # on a local-connection host

    run = runs.launch(job)
    run_worker()

    log = _log(run)
    assert "PATH=" in log, "the command printed its environment"
    assert "the-key-that-signs-sessions" not in log
    assert "db-password" not in log
    assert "PLAYDECK_SECRET_KEY" not in log
    assert "PLAYDECK_DATABASE_URL" not in log
