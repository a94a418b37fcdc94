"""Check mode with diff: a preview of each host's changes as a coloured diff on
the run page, nothing changed on the hosts; then the real run changes them."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.services import runs as run_service

from factories import PASSWORD
from helpers import screenshot

pytestmark = pytest.mark.all_databases

EDITS = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: write the config
      ansible.builtin.copy:
        dest: "{{ folder }}/{{ inventory_hostname }}.conf"
        content: "colour = teal\\nsize = large\\n"
    - name: leave the rest alone
      ansible.builtin.debug:
        msg: nothing to change here
"""


def _job(make, tmp_path, **options):
    one, two = make.host("one"), make.host("two")
    for host in ("one", "two"):
        (tmp_path / f"{host}.conf").write_text("colour = red\nsize = large\n")
    return make.job(
        hosts=[one, two],
        playbook=make.playbook(files={"site.yml": EDITS}),
        extra_vars={"folder": str(tmp_path)},
        **options,
    )


def test_a_check_run_with_diff_previews_each_host_s_changes(
    client, make, run_worker, tmp_path
):
    job = _job(make, tmp_path, check_mode=True, diff_mode=True)

    run = run_service.launch(job)
    run_worker()
    db.session.refresh(run)

    assert run.status == "successful", run.error
    assert (tmp_path / "one.conf").read_text() == "colour = red\nsize = large\n"
    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert "data-check-mode" in page
    assert "Changes a real run would make" in page
    section = page.split('id="run-changes"', 1)[1].split("</section>", 1)[0]
    assert 'data-changes-host="one"' in section and 'data-changes-host="two"' in section
    assert '<span class="diff-del">-colour = red</span>' in section
    assert '<span class="diff-add">+colour = teal</span>' in section
    assert '<span class="diff-context"> size = large</span>' in section
    assert f'<span class="diff-file">--- before: {tmp_path}/one.conf</span>' in section
    assert "write the config" in section
    assert "hx-get" not in section, "an ended run's changes are not polled"


def test_the_real_run_after_the_preview_makes_the_changes(
    client, make, run_worker, tmp_path
):
    job = _job(make, tmp_path, diff_mode=True, ask_at_launch=["check_mode"])
    preview = run_service.launch(job, options={"check_mode": True})
    run_worker()
    assert (tmp_path / "two.conf").read_text().startswith("colour = red")

    real = run_service.launch(job)
    run_worker()

    db.session.refresh(preview)
    db.session.refresh(real)
    assert (tmp_path / "two.conf").read_text() == "colour = teal\nsize = large\n"
    page = client.get(f"/runs/{real.id}").get_data(as_text=True)
    assert "data-check-mode" not in page
    assert "<h2>Changes</h2>" in page
    assert '<span class="diff-add">+colour = teal</span>' in page


def test_changes_are_polled_while_the_run_goes_on(client, make, tmp_path):
    run = run_service.launch(_job(make, tmp_path, check_mode=True, diff_mode=True))

    queued = client.get(f"/runs/{run.id}/changes")

    assert queued.status_code == 200
    assert f'hx-get="/runs/{run.id}/changes"' in queued.get_data(as_text=True)
    assert "None yet." in queued.get_data(as_text=True)
    run_service.cancel(run)
    ended = client.get(f"/runs/{run.id}/changes")
    assert ended.status_code == 286
    assert "hx-get" not in ended.get_data(as_text=True)


def test_a_run_without_diff_mode_shows_no_changes_section(client, make, run_worker):
    run = run_service.launch(make.job())
    run_worker()

    page = client.get(f"/runs/{run.id}").get_data(as_text=True)

    assert 'id="run-changes"' not in page


@pytest.mark.slow
def test_in_a_browser_the_diff_is_coloured(page, make, run_worker, tmp_path):
    run = run_service.launch(_job(make, tmp_path, check_mode=True, diff_mode=True))
    run_worker()
    make.user("dora", role="viewer")

    page.goto("/login")
    page.get_by_label("User name").fill("dora")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/runs/{run.id}")

    added = page.locator("#run-changes .diff-add").first
    removed = page.locator("#run-changes .diff-del").first
    expect(added).to_have_text("+colour = teal")
    expect(removed).to_have_text("-colour = red")
    red, green, blue = _background(added)
    assert green > red and green > blue, "an added line is green"
    red, green, blue = _background(removed)
    assert red > green and red > blue, "a removed line is red"
    expect(page.locator("[data-check-mode]")).to_be_visible()
    screenshot(page, "check-mode-diff")


def _background(locator) -> tuple[int, ...]:
    colour = locator.evaluate("el => getComputedStyle(el).backgroundColor")
    return tuple(int(part) for part in colour[colour.index("(") + 1 : -1].split(","))
