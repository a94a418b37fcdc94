"""A run watched in a real browser: lines arrive live, without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.services import runs

from factories import PASSWORD
from helpers import screenshot

pytestmark = pytest.mark.slow

SLOW_PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: first step
      ansible.builtin.debug: msg=started
    - name: wait a little
      ansible.builtin.command: sleep 3
    - name: last step
      ansible.builtin.debug: msg=finished
"""


def test_run_page_shows_lines_live_then_the_summary(page, make, worker_process):
    playbook = make.playbook(files={"site.yml": SLOW_PLAYBOOK})
    run = runs.launch(make.job(playbook=playbook, hosts=[make.host("web1")]))
    make.user("ann", role="viewer")

    page.goto(f"/runs/{run.id}")
    expect(page).to_have_url(f"/login?next=/runs/{run.id}")
    page.get_by_label("User name").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"/runs/{run.id}")
    page.evaluate("window.loadedOnce = true")
    log = page.locator("#log")
    summary = page.locator("#run-summary")
    expect(log).to_contain_text("TASK [wait a little]", timeout=30_000)
    expect(summary).to_have_attribute("data-status", "running")
    screenshot(page, "run-live")

    expect(summary).to_have_attribute("data-status", "successful", timeout=30_000)
    expect(log).to_contain_text("PLAY RECAP")
    assert page.evaluate("window.loadedOnce") is True, "the page was not reloaded"
    assert log.inner_text().count("TASK [last step]") == 1, "no line twice"
    row = page.locator('table.host-stats tr[data-host="web1"]')
    expect(row.locator('[data-count="ok"]')).to_have_text("3")
    expect(row.locator('[data-count="changed"]')).to_have_text("1")
    expect(page.locator("#log-poller")).to_have_attribute("data-done", "true")
    screenshot(page, "run-finished")
