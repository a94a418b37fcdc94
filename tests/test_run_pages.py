"""The run page and its log fragment: cursor, stop of polling, escaping."""

from __future__ import annotations

import re
from datetime import timedelta

from app import tasks
from app.extensions import db
from app.models import Run, RunStatus, utcnow
from app.models.event import append_note
from app.models.run import mark_finished, mark_running
from app.runner.sink import EventSink
from app.services import runs as run_service

HX = {"HX-Request": "true"}
CURSOR = re.compile(r'data-cursor="(\d+)"')
LINE = re.compile(r'data-seq="(\d+)"')


def _run_with_events(make, count: int, status=RunStatus.RUNNING) -> Run:
    run = Run(job=make.job(), summary={"description": "ping"})
    db.session.add(run)
    db.session.commit()
    mark_running(run.id)
    _emit(run, count)
    if status.terminal:
        mark_finished(run.id, status, rc=0)
    db.session.expire_all()
    return run


def _emit(run: Run, count: int, start: int = 0) -> None:
    sink = EventSink(run.id, batch_size=50, batch_seconds=0.1)
    sink.seq = start
    for number in range(start + 1, start + count + 1):
        sink.handle({"event": "verbose", "stdout": f"line {number}"})
    sink.flush()


def _poll(client, run: Run, after: int):
    response = client.get(f"/runs/{run.id}/log?after={after}", headers=HX)
    body = response.get_data(as_text=True)
    seqs = [int(seq) for seq in LINE.findall(body)]
    cursor = CURSOR.search(body)
    return response.status_code, seqs, int(cursor.group(1)) if cursor else None


def test_polls_return_every_line_once_and_in_order(client, make):
    run = _run_with_events(make, 30)
    seen: list[int] = []

    status, seqs, cursor = _poll(client, run, 0)
    assert status == 200
    seen += seqs
    status, seqs, cursor = _poll(client, run, cursor)
    assert (status, seqs, cursor) == (200, [], 30)

    _emit(run, 25, start=30)
    status, seqs, cursor = _poll(client, run, cursor)
    seen += seqs
    assert seen == list(range(1, 56))
    assert cursor == 55


def test_a_reload_mid_run_continues_where_the_page_stands(client, make):
    run = _run_with_events(make, 12)

    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    shown = [int(seq) for seq in LINE.findall(page)]
    cursor = int(CURSOR.search(page).group(1))
    assert shown == list(range(1, 13)) and cursor == 12

    _emit(run, 3, start=12)
    _, seqs, _ = _poll(client, run, cursor)
    assert seqs == [13, 14, 15]


def test_polling_stops_with_286_once_the_run_ended_and_all_is_delivered(client, make):
    run = _run_with_events(make, 5)
    _, seqs, cursor = _poll(client, run, 0)
    assert seqs == [1, 2, 3, 4, 5]

    _emit(run, 2, start=5)
    mark_finished(run.id, RunStatus.SUCCESSFUL, rc=0)

    status, seqs, cursor = _poll(client, run, cursor)
    assert status == 200 and seqs == [6, 7]
    response = client.get(f"/runs/{run.id}/log?after={cursor}", headers=HX)
    assert response.status_code == 286
    body = response.get_data(as_text=True)
    assert 'data-status="successful"' in body
    assert "hx-trigger" not in body


def test_a_run_its_worker_s_shutdown_canceled_is_polled_until_its_last_line(
    client, make
):
    run = _run_with_events(make, 3)
    _, _, cursor = _poll(client, run, 0)

    # The worker, told to stop, ends the run before its work-horse has stopped.
    tasks.stop_for_shutdown(run.id)
    db.session.expire_all()
    assert _poll(client, run, cursor) == (200, [], 3)
    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert 'data-status="canceled"' in page and "hx-get" in _poller(page)

    # The work-horse stops ansible: its last lines, then its closing line.
    _emit(run, 2, start=3)
    append_note(run.id, "Canceled by worker shutdown at 2026-12-04 06:40:00 UTC")
    status, seqs, cursor = _poll(client, run, cursor)
    assert (status, seqs) == (200, [4, 5, 6])
    assert _poll(client, run, cursor)[0] == 286
    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert 'data-done="true"' in _poller(page)


def test_a_shutdown_run_whose_closing_line_never_comes_stops_being_polled(client, make):
    run = _run_with_events(make, 3)
    tasks.stop_for_shutdown(run.id)
    db.session.expire_all()
    assert _poll(client, run, 3)[0] == 200

    # Its work-horse was killed with the worker: the reconciler has nothing to
    # end, and the page stops asking after a while.
    late = utcnow() - timedelta(seconds=run_service.CLOSING_SECONDS + 1)
    db.session.query(Run).filter_by(id=run.id).update({"finished_at": late})
    db.session.commit()
    assert _poll(client, run, 3)[0] == 286


def _poller(page: str) -> str:
    return re.search(r'<div id="log-poller"[^>]*>', page).group(0)


def test_a_large_backlog_comes_in_pages_that_ask_again_at_once(client, make):
    run = _run_with_events(make, 1500)

    body = client.get(f"/runs/{run.id}/log?after=0", headers=HX).get_data(as_text=True)
    assert len(LINE.findall(body)) == 1000
    assert 'hx-trigger="load, every 1s"' in body


def test_finished_run_page_shows_no_poller(client, make):
    run = _run_with_events(make, 3, status=RunStatus.SUCCESSFUL)

    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert "line 3" in page
    assert "hx-trigger" not in page
    assert "Cancel run" not in page


def test_long_log_page_shows_a_window_with_earlier_lines_on_demand(app, client, make):
    run = _run_with_events(make, 2300, status=RunStatus.SUCCESSFUL)

    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    shown = [int(seq) for seq in LINE.findall(page)]
    assert shown[0] == 301 and shown[-1] == 2300
    assert f"/runs/{run.id}/earlier?before=301" in page

    earlier = client.get(f"/runs/{run.id}/earlier?before=301", headers=HX)
    seqs = [int(seq) for seq in LINE.findall(earlier.get_data(as_text=True))]
    assert seqs == list(range(1, 301))


def test_fragments_for_htmx_and_full_pages_otherwise(client, make):
    run = _run_with_events(make, 2)

    fragment = client.get(f"/runs/{run.id}/log?after=0", headers=HX)
    assert "<html" not in fragment.get_data(as_text=True)
    assert 'hx-swap-oob="beforeend:#log-lines"' in fragment.get_data(as_text=True)

    plain = client.get(f"/runs/{run.id}/log?after=0")
    assert plain.status_code == 302
    page = client.get(plain.headers["Location"])
    assert "<html" in page.get_data(as_text=True)


def test_output_is_escaped_and_colours_become_classes(client, make):
    run = _run_with_events(make, 0)
    sink = EventSink(run.id, batch_size=10, batch_seconds=0)
    sink.handle(
        {"event": "verbose", "stdout": "\x1b[0;31m<script>alert(1)</script>\x1b[0m"}
    )
    sink.flush()

    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert '<span class="ansi-red">&lt;script&gt;alert(1)&lt;/script&gt;</span>' in page


def test_raw_log_is_plain_text_without_colours(client, make):
    run = _run_with_events(make, 1500, status=RunStatus.SUCCESSFUL)

    response = client.get(f"/runs/{run.id}/raw")
    text = response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    assert "attachment" in response.headers["Content-Disposition"]
    assert text.splitlines() == [f"line {n}" for n in range(1, 1501)]


def test_runs_list_filters_by_status_and_job(client, make):
    done = _run_with_events(make, 1, status=RunStatus.SUCCESSFUL)
    failed = _run_with_events(make, 1, status=RunStatus.FAILED)

    everything = client.get("/runs/").get_data(as_text=True)
    assert f'data-run="{done.id}"' in everything
    assert everything.index(f'data-run="{failed.id}"') < everything.index(
        f'data-run="{done.id}"'
    ), "newest first"

    only_failed = client.get("/runs/?status=failed").get_data(as_text=True)
    assert f'data-run="{failed.id}"' in only_failed
    assert f'data-run="{done.id}"' not in only_failed

    by_job = client.get(f"/runs/?job={done.job_id}").get_data(as_text=True)
    assert f'data-run="{done.id}"' in by_job
    assert f'data-run="{failed.id}"' not in by_job


def test_runs_list_paginates(app, client, make):
    job = make.job()
    for _ in range(30):
        db.session.add(Run(job=job))
    db.session.commit()

    first = client.get("/runs/").get_data(as_text=True)
    second = client.get("/runs/?page=2").get_data(as_text=True)
    assert first.count("data-run=") == 25
    assert second.count("data-run=") == 5
    assert "Older" in first


def test_unknown_run_is_404(client):
    assert client.get("/runs/999").status_code == 404
    assert client.get("/runs/999/log?after=0", headers=HX).status_code == 404


def test_a_queued_run_says_when_no_worker_listens(client, make):
    from app.services import runs

    run = runs.launch(make.job())

    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert "no worker is running" in page
