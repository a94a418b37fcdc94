"""The main pages tried as a new user would, in real Chromium, at laptop and phone
widths: log in, add a host, write a playbook, make a job and watch its run; cancel
a long run; a quick command; the dashboard; a run of a hundred thousand lines.

Screenshots of each page go to test-artifacts/screenshots/ for a person to see.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import insert

from app.extensions import db
from app.models import Event, Run, RunStatus, utcnow
from app.models.run import mark_finished, mark_running

from factories import PASSWORD, PING_PLAYBOOK
from helpers import screenshot

pytestmark = pytest.mark.slow

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}

PLAYBOOK = (
    PING_PLAYBOOK
    + """\
    - name: take a while
      ansible.builtin.command: sleep 2
    - name: say goodbye
      ansible.builtin.debug:
        msg: goodbye
"""
)


def _log_in(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".flash")).to_contain_text(f"Logged in as {username}.")


def _menu(page, name: str) -> None:
    page.get_by_role("navigation", name="Pages").get_by_role("link", name=name).click()
    _loaded(page)


def _loaded(page) -> None:
    """Wait until htmx has set the page up: what a person types before that (a
    test can, within milliseconds of a click) triggers nothing.
    """
    page.wait_for_load_state("load")


def _both_widths(page, name: str) -> None:
    """Screenshots at laptop and phone width; the page must not scroll sideways."""
    for size, width in ((LAPTOP, "laptop"), (PHONE, "phone")):
        page.set_viewport_size(size)
        root = "document.documentElement"
        overflow = page.evaluate(f"{root}.scrollWidth - {root}.clientWidth")
        assert overflow <= 1, f"{name} scrolls sideways at {width} width"
        screenshot(page, f"{name}-{width}")
    page.set_viewport_size(LAPTOP)


def test_a_new_user_adds_a_host_and_a_job_and_watches_it_run(
    page, make, worker_process
):
    make.user("ada", role="admin")
    page.set_viewport_size(LAPTOP)
    _log_in(page, "ada")
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("#active")).to_contain_text("Nothing is running now.")

    # A host, its variables checked while typing.
    _menu(page, "Hosts")
    expect(page.locator(".empty")).to_contain_text("No host yet.")
    page.get_by_role("link", name="Add a host").click()
    _loaded(page)
    page.get_by_label("Name").fill("web1")
    page.get_by_label("Address").fill("127.0.0.1")
    page.get_by_label("Connection").select_option("local")
    variables = page.get_by_label("Variables")
    variables.press_sequentially("http_port: [8080\n")
    expect(page.locator("#vars-check")).to_contain_text("Invalid YAML at line")
    variables.fill("http_port: 8080")
    variables.press("End")
    expect(page.locator("#vars-check")).to_have_text("1 variable.")
    page.get_by_role("button", name="Add host").click()
    expect(page.locator(".flash")).to_contain_text("Host web1 added.")

    # A playbook: a YAML error points at its line in the editor's gutter.
    _menu(page, "Playbooks")
    page.get_by_role("link", name="New playbook").first.click()
    _loaded(page)
    page.get_by_label("Name", exact=True).fill("hello")
    text = page.get_by_label("Text")
    text.fill("- hosts: all\n  tasks:\n    - debug: msg=hi\n   bad: [")
    text.press("End")
    expect(page.locator("#files-0-content-check")).to_contain_text("line 4")
    expect(page.locator(".gutter .bad")).to_have_text("4")
    screenshot(page, "playbook-yaml-error")
    text.fill(PLAYBOOK)
    text.press("End")
    expect(page.locator("#files-0-content-check")).to_have_text("Valid YAML.")
    expect(page.locator(".gutter .bad")).to_have_count(0)
    page.get_by_role("button", name="Save playbook").click()
    expect(page.locator(".flash")).to_contain_text("Playbook hello saved.")

    # A job: refused without a host, then saved with one picked by a search.
    _menu(page, "Jobs")
    page.get_by_role("link", name="New job").first.click()
    _loaded(page)
    page.get_by_label("Name", exact=True).fill("greet")
    page.get_by_role("radio", name="Playbook").check()
    page.locator("select#playbook").select_option(label="hello")
    page.get_by_role("button", name="Save job").click()
    expect(page.locator(".has-error")).to_contain_text(
        "Pick at least one host or group."
    )
    _both_widths(page, "job-form-error")
    page.get_by_placeholder("Search hosts by name…").fill("WEB")
    expect(page.locator("#hosts-options .pick")).to_have_count(1)
    page.get_by_role("checkbox", name="web1").check()
    page.get_by_role("button", name="Save job").click()
    expect(page.locator(".flash")).to_contain_text("Job greet created.")

    # Its run, watched live: lines arrive, the log follows them unless one
    # scrolls up, the grid and the progress fill, the status ticks to the end.
    page.get_by_role("button", name="Run").click()
    expect(page.locator(".flash")).to_contain_text("queued.")
    page.evaluate("window.loadedOnce = true")
    log = page.locator("#log")
    summary = page.locator("#run-summary")
    expect(log).to_contain_text("TASK [take a while]", timeout=30_000)
    expect(summary).to_have_attribute("data-status", "running")
    log.evaluate("el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
    expect(summary).to_have_attribute("data-status", "successful", timeout=30_000)
    expect(log).to_contain_text("PLAY RECAP")
    assert log.evaluate("el => el.scrollTop") == 0, "scrolled up: not followed"
    assert page.evaluate("window.loadedOnce") is True, "the page was not reloaded"
    row = page.locator('table.host-stats tr[data-host="web1"]')
    expect(row.locator('[data-count="ok"]')).to_have_text("3")
    expect(page.locator(".progress-words")).to_contain_text("3 tasks done")
    cells = page.locator('#run-grid tr[data-host="web1"] td[data-result]')
    expect(cells).to_have_count(3)
    expect(cells.nth(1)).to_have_attribute("data-result", "changed")
    cells.first.get_by_role("link").click()
    expect(page.locator("#grid-detail")).to_contain_text("hello from web1")
    _both_widths(page, "run-finished")

    # The host's page now has that run, as its last result in the job.
    _menu(page, "Hosts")
    page.get_by_role("link", name="web1").click()
    expect(page.locator("table.host-jobs")).to_contain_text("greet")
    expect(page.locator("table.host-jobs .outcome")).to_have_text("changed")
    _both_widths(page, "host")


def test_cancel_a_long_run_and_use_the_quick_command(page, make, worker_process):
    make.host("web1")
    make.host("db1")
    make.user("olga", role="operator")
    page.set_viewport_size(LAPTOP)
    _log_in(page, "olga")

    _menu(page, "Quick command")
    page.get_by_placeholder("Search hosts by name…").fill("web")
    expect(page.locator("#hosts-options .pick")).to_have_count(1)
    page.get_by_role("checkbox", name="web1").check()
    page.get_by_label("Module", exact=True).select_option("shell")
    page.get_by_label("Arguments").fill("sleep 60")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#run-summary")).to_have_attribute(
        "data-status", "running", timeout=30_000
    )
    duration = page.locator("#run-summary [data-duration]")
    first = duration.inner_text()
    expect(duration).not_to_have_text(first, timeout=5_000)  # it ticks
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel run").click()
    expect(page.locator("#run-summary")).to_have_attribute(
        "data-status", "canceled", timeout=30_000
    )
    expect(page.locator("#log")).to_contain_text("Canceled by olga")
    expect(page.locator("#log-poller")).to_have_attribute("data-done", "true")

    _menu(page, "Quick command")
    page.get_by_role("checkbox", name="db1").check()
    page.get_by_label("Arguments").fill("echo hello-from-quick")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#run-summary")).to_have_attribute(
        "data-status", "successful", timeout=30_000
    )
    expect(page.locator("#log")).to_contain_text("hello-from-quick")
    expect(page.locator(".progress-words")).to_have_text("1 of 1 host done")
    _both_widths(page, "quick-run")
    _menu(page, "Quick command")
    expect(page.locator("table.runs tr[data-run]")).to_have_count(2)
    _both_widths(page, "quick-command")


def test_the_dashboard_shows_the_days_and_what_runs_now(page, make):
    job = make.job("nightly", playbook=make.playbook())
    for count in (4, 4):
        run = Run(job=job, status=RunStatus.RUNNING, task_count=count)
        db.session.add(run)
        db.session.commit()
        mark_finished(run.id, RunStatus.SUCCESSFUL)
    failed = Run(job=job, status=RunStatus.RUNNING)
    db.session.add(failed)
    running = Run(job=job, summary={"kind": "playbook"}, task_count=3)
    db.session.add(running)
    db.session.commit()
    mark_finished(failed.id, RunStatus.FAILED)
    mark_running(running.id)
    make.user("vic", role="viewer")
    page.set_viewport_size(LAPTOP)
    _log_in(page, "vic")

    page.keyboard.press("Tab")  # the keyboard's first stop skips the menu
    expect(page.get_by_role("link", name="Skip to the content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    span = page.locator('[data-span="1"]')
    expect(span.locator("[data-total]")).to_have_text("4")
    expect(span.locator("[data-success-rate]")).to_have_text("67 %")
    expect(page.locator(f'#active tr[data-run="{running.id}"]')).to_contain_text(
        "2 of about 4 tasks done"
    )
    expect(page.locator(f'tr[data-job="{job.id}"] svg.day-bars')).to_be_visible()
    _both_widths(page, "dashboard")

    mark_finished(running.id, RunStatus.SUCCESSFUL)
    expect(page.locator("#active")).to_contain_text("Nothing is running now.")
    expect(page.locator("#active")).not_to_have_attribute("hx-trigger", "every 2s")


def _hundred_thousand_lines(make) -> Run:
    """A finished run of 100,000 events over three hosts and ten tasks, inserted
    directly (ansible would take long to print that much).
    """
    run = Run(
        job=make.job("big", playbook=make.playbook()), summary={"kind": "playbook"}
    )
    db.session.add(run)
    db.session.commit()
    mark_running(run.id)
    hosts = ("web1", "web2", "web3")
    rows, task_seq = [], 0
    for seq in range(1, 100_001):
        row = {"run_id": run.id, "seq": seq, "created_at": utcnow()}
        if seq % 10_000 == 1:
            task_seq = seq
            row |= {"type": "playbook_on_task_start", "task": f"step {seq // 10_000}"}
            row["stdout"] = f"TASK [step {seq // 10_000}] ****"
        else:
            host = hosts[seq % 3]
            row |= {"type": "runner_on_ok", "host": host, "task_seq": task_seq}
            row |= {"result": "ok", "detail": f"line {seq}"}
            row["stdout"] = f"\x1b[0;32mok: [{host}] line {seq}\x1b[0m"
        rows.append(row)
    for start in range(0, len(rows), 10_000):
        db.session.execute(insert(Event), rows[start : start + 10_000])
    db.session.commit()
    stats = {host: {"ok": 33_333} for host in hosts}
    mark_finished(run.id, RunStatus.SUCCESSFUL, stats=stats)
    return run


def test_a_run_of_a_hundred_thousand_lines_stays_usable(page, make):
    run = _hundred_thousand_lines(make)
    make.user("vic", role="viewer")
    page.set_viewport_size(LAPTOP)
    _log_in(page, "vic")

    page.goto(f"/runs/{run.id}")
    lines = page.locator("#log .line")
    expect(lines).to_have_count(2000)  # a window, not the whole log
    expect(lines.last).to_have_attribute("data-seq", "100000")
    expect(page.locator("#run-grid th.grid-task")).to_have_count(10)
    _both_widths(page, "run-100k")

    page.get_by_role("button", name="Show earlier lines").click()
    expect(lines).to_have_count(4000)
    expect(lines.first).to_have_attribute("data-seq", "96001")

    page.get_by_label("Lines of").select_option("web2")
    expect(page).to_have_url(f"/runs/{run.id}?host=web2")
    expect(lines).to_have_count(2000)
    assert set(lines.evaluate_all("ls => ls.map(l => l.dataset.host)")) == {"web2"}

    page.get_by_label("Search the log").fill("line 49999")
    page.get_by_role("button", name="Search").click()
    results = page.locator("#search-results")
    expect(results).to_contain_text("the whole log was read", timeout=20_000)
    matches = results.locator("li[data-match]")
    expect(matches).to_have_count(1)
    matches.first.get_by_role("link").click()
    expect(page).to_have_url(f"/runs/{run.id}?at=49999&host=web2#line-49999")
    target = page.locator("#line-49999")
    expect(target).to_be_in_viewport()
    expect(target).to_contain_text("line 49999")
    page.get_by_role("link", name="Show later lines").click()
    expect(lines).to_have_count(4000)
    screenshot(page, "run-100k-at-a-line")
