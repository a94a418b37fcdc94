"""The run page's tools on long logs: one host's lines, a page opened at a line
with later lines on demand, the search through the log, a grid cell's detail,
and the grid and progress the poller brings.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import insert

from app.extensions import db
from app.models import Event, Run, RunStatus, utcnow
from app.models.run import mark_finished, mark_running
from app.runner.sink import EventSink
from app.services import runs as run_service

from helpers import with_settings

HX = {"HX-Request": "true"}
LINE = re.compile(r'data-seq="(\d+)"')
MATCH = re.compile(r'data-match="(\d+)"')


# The host of event N, by N % 3: web1, web2, or none (a line of the play's own).
HOSTS = {1: "web1", 2: "web2", 0: None}


def _run(make, count: int, status=RunStatus.RUNNING):
    """A run whose event N prints "line N of <its host>" ("nobody" for none)."""
    run = Run(job=make.job(), summary={"kind": "adhoc", "description": "ping"})
    db.session.add(run)
    db.session.commit()
    mark_running(run.id)
    rows = [
        {
            "run_id": run.id,
            "seq": seq,
            "type": "verbose",
            "host": HOSTS[seq % 3],
            "stdout": f"line {seq} of {HOSTS[seq % 3] or 'nobody'}",
            "created_at": utcnow(),
        }
        for seq in range(1, count + 1)
    ]
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(Event), rows[start : start + 5000])
    db.session.commit()
    if status.terminal:
        mark_finished(run.id, status, stats={"web1": {"ok": 1}, "web2": {"ok": 1}})
    db.session.expire_all()
    return run


def _seqs(body: str) -> list[int]:
    return [int(seq) for seq in LINE.findall(body)]


def test_the_host_filter_shows_only_that_hosts_lines(client, make):
    run = _run(make, 3000, RunStatus.SUCCESSFUL)

    page = client.get(f"/runs/{run.id}?host=web2").get_data(as_text=True)

    seqs = _seqs(page)
    assert len(seqs) == 1000 and all(seq % 3 == 2 for seq in seqs)
    assert seqs[-1] == 2999
    assert "Only the lines of <strong>web2</strong>" in page
    assert '<option value="web2" selected>' in page
    # "earlier lines" of the filtered view stay filtered
    with_settings(client.application, log_window=100)
    page = client.get(f"/runs/{run.id}?host=web2").get_data(as_text=True)
    first = _seqs(page)[0]
    earlier = client.get(
        f"/runs/{run.id}/earlier?before={first}&host=web2", headers=HX
    ).get_data(as_text=True)
    assert all(seq % 3 == 2 and seq < first for seq in _seqs(earlier))
    assert f"before={_seqs(earlier)[0]}&amp;host=web2" in earlier


def test_the_poller_of_a_filtered_page_brings_only_that_hosts_lines(client, make):
    run = _run(make, 10)
    page = client.get(f"/runs/{run.id}?host=web1").get_data(as_text=True)
    assert "/log?after=10&amp;host=web1" in page
    sink = EventSink(run.id, batch_size=10, batch_seconds=0)
    sink.seq = 10
    for host in ("web1", "web2", "web1"):
        sink.handle({"event": "verbose", "event_data": {"host": host}, "stdout": host})
    sink.flush()

    body = client.get(f"/runs/{run.id}/log?after=10&host=web1", headers=HX)

    assert _seqs(body.get_data(as_text=True)) == [11, 13]


def test_a_page_opened_at_a_line_shows_it_with_later_lines_on_demand(app, client, make):
    with_settings(app, log_window=50)
    run = _run(make, 300)

    page = client.get(f"/runs/{run.id}?at=100").get_data(as_text=True)

    seqs = _seqs(page)
    assert seqs[0] == 80 and seqs[-1] == 129, "a few lines before, then a window"
    assert 'id="line-100"' in page
    assert "hx-trigger" not in page.split('id="log-poller"')[1][:100], "no polling"
    assert f"/runs/{run.id}/later?after=129" in page
    assert f"/runs/{run.id}/earlier?before=80" in page

    later = client.get(f"/runs/{run.id}/later?after=129", headers=HX)
    body = later.get_data(as_text=True)
    assert _seqs(body) == list(range(130, 180))
    assert f"/runs/{run.id}/later?after=179" in body

    last = client.get(f"/runs/{run.id}/later?after=279", headers=HX)
    body = last.get_data(as_text=True)
    assert _seqs(body) == list(range(280, 301))
    assert "later?after" not in body
    assert 'id="log-poller"' in body and 'hx-swap-oob="true"' in body
    assert f"/runs/{run.id}/log?after=300" in body, "the live poller takes over"


def test_search_finds_lines_in_any_case_in_order_with_the_match_marked(client, make):
    run = _run(make, 100, RunStatus.SUCCESSFUL)

    body = client.get(f"/runs/{run.id}/search?q=LINE 5", headers=HX).get_data(
        as_text=True
    )

    assert [int(seq) for seq in MATCH.findall(body)] == [5] + list(range(50, 60))
    assert "<mark>line 5</mark>" in body
    assert f"/runs/{run.id}?at=50#line-50" in body
    assert "11 lines found: the whole log was read." in body


def test_search_goes_through_a_long_log_a_slice_at_a_time(app, make):
    run = _run(make, 1000, RunStatus.SUCCESSFUL)

    first = run_service.search_events(run.id, "of web2", slice_size=300)
    assert all(event.seq % 3 == 2 for event in first.matches)
    assert len(first.matches) == 50  # at most a page of matches...
    assert first.searched_to == 149 and first.more  # ...the next goes on after it

    pages, after = [], 0
    while True:
        page = run_service.search_events(run.id, "of web1", after, slice_size=300)
        pages.append(page)
        if not page.more:
            break
        after = page.searched_to
    found = [event.seq for page in pages for event in page.matches]
    assert found == [seq for seq in range(1, 1001) if seq % 3 == 1]


def test_search_slices_follow_on_in_the_page(client, make, monkeypatch):
    monkeypatch.setattr(run_service, "SEARCH_SLICE", 40)
    run = _run(make, 100, RunStatus.SUCCESSFUL)

    body = client.get(f"/runs/{run.id}/search?q=nobody", headers=HX).get_data(
        as_text=True
    )

    assert [int(seq) for seq in MATCH.findall(body)] == list(range(3, 40, 3))
    assert 'hx-trigger="load"' in body, "fewer than a page found: go on at once"
    assert f"/runs/{run.id}/search?q=nobody&amp;after=40&amp;found=13" in body


def test_search_takes_percent_and_underscore_as_themselves(client, make):
    run = _run(make, 5, RunStatus.SUCCESSFUL)
    sink = EventSink(run.id, batch_size=10, batch_seconds=0)
    sink.seq = 5
    sink.handle({"event": "verbose", "stdout": "disk 100% full"})
    sink.flush()

    body = client.get(f"/runs/{run.id}/search?q=0%25 f", headers=HX).get_data(
        as_text=True
    )
    assert MATCH.findall(body) == ["6"]
    nothing = client.get(f"/runs/{run.id}/search?q=l_ne", headers=HX)
    assert "No line holds" in nothing.get_data(as_text=True)


def test_search_without_javascript_is_a_page_with_links(client, make):
    run = _run(make, 30, RunStatus.SUCCESSFUL)

    page = client.get(f"/runs/{run.id}/search?q=web2&host=web2")

    body = page.get_data(as_text=True)
    assert "<html" in body
    assert len(MATCH.findall(body)) == 10
    assert f"/runs/{run.id}?at=2&amp;host=web2#line-2" in body
    assert f"/runs/{run.id}?host=web2" in body, "back to the filtered log"


def _grid_run(make):
    run = Run(job=make.job(playbook=make.playbook()), summary={"kind": "playbook"})
    db.session.add(run)
    db.session.commit()
    mark_running(run.id)
    sink = EventSink(run.id, batch_size=10, batch_seconds=0)
    sink.handle(
        {
            "event": "playbook_on_task_start",
            "event_data": {"task": "print", "task_uuid": "u1"},
        }
    )
    sink.handle(
        {
            "event": "runner_on_failed",
            "event_data": {
                "host": "web1",
                "task": "print",
                "task_uuid": "u1",
                "res": {"msg": "<script>alert(1)</script>"},
            },
            "stdout": "fatal: [web1]",
        }
    )
    sink.flush()
    db.session.expire_all()
    return run, sink


def test_a_grid_cell_shows_what_the_task_returned_escaped(client, make):
    run, _ = _grid_run(make)
    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    link = re.search(r'href="(/runs/\d+/result\?host=web1&amp;task=\d+)"', page)
    assert link, "the cell links to the result"
    url = link.group(1).replace("&amp;", "&")

    fragment = client.get(url, headers=HX).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in fragment
    assert "<script>alert" not in fragment
    assert 'data-result="failed"' in fragment
    assert "<html" not in fragment
    assert "<html" in client.get(url).get_data(as_text=True), "a page without JS"
    assert client.get(f"/runs/{run.id}/result?host=nobody&task=1").status_code == 404
    assert client.get(f"/runs/{run.id}/result?host=web1").status_code == 400


def test_the_poller_brings_the_grid_only_when_it_changed(client, make):
    run, sink = _grid_run(make)
    cursor = sink.seq

    sink.handle({"event": "verbose", "stdout": "just talk"})
    sink.flush()
    quiet = client.get(f"/runs/{run.id}/log?after={cursor}", headers=HX)
    assert 'id="run-grid"' not in quiet.get_data(as_text=True)

    sink.handle(
        {
            "event": "runner_on_ok",
            "event_data": {"host": "web2", "task_uuid": "u1", "res": {}},
        }
    )
    sink.flush()
    moved = client.get(f"/runs/{run.id}/log?after={cursor + 1}", headers=HX)
    body = moved.get_data(as_text=True)
    assert 'id="run-grid"' in body and 'hx-swap-oob="true"' in body
    assert 'data-host="web2"' in body


def test_the_summary_ticks_while_running_and_stops_once_ended(client, make):
    run = _run(make, 3)
    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert re.search(r'data-since="\S+Z" data-now="\S+Z"', page)
    assert "<progress" in page

    mark_finished(run.id, RunStatus.SUCCESSFUL, stats={"web1": {"ok": 1}})
    done = client.get(f"/runs/{run.id}/log?after=3", headers=HX)
    assert done.status_code == 286
    assert "data-since" not in done.get_data(as_text=True)


@pytest.mark.parametrize("query", ["before=0", "before=x", ""])
def test_earlier_needs_a_sequence(client, make, query):
    run = _run(make, 3)
    assert client.get(f"/runs/{run.id}/earlier?{query}").status_code == 400
