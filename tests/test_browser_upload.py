"""An upload job made and run in real Chromium: a multipart form with its CSRF
token, and the copy it makes on localhost."""

from __future__ import annotations

import os
import stat

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import Job

from helpers import browser_login, screenshot

pytestmark = pytest.mark.slow


def test_an_upload_job_from_the_browser_copies_its_file(
    page, make, worker_process, tmp_path
):
    make.user("ann", role="operator")
    make.host("web1")
    source = tmp_path / "nginx.conf"
    source.write_text("worker_processes 2;\n")
    dest = tmp_path / "etc"

    browser_login(page, "/jobs/new", "ann")
    page.get_by_label("Name").fill("ship-nginx")
    page.get_by_label("Upload files").check()
    expect(page.get_by_label("Module", exact=True)).to_be_hidden()
    page.get_by_label("Files", exact=True).set_input_files(str(source))
    page.get_by_label("Destination folder").fill(str(dest))
    page.get_by_label("Mode", exact=True).fill("0600")
    page.get_by_role("checkbox", name="web1").check()
    screenshot(page, "upload-job-form")
    page.get_by_role("button", name="Save job").click()

    job = db.session.query(Job).filter_by(name="ship-nginx").one()
    expect(page).to_have_url(f"/jobs/{job.id}")
    expect(page.locator('tr[data-file="nginx.conf"]')).to_contain_text("20 Bytes")
    page.get_by_role("button", name="▶ Run").click()
    summary = page.locator("#run-summary")
    expect(summary).to_have_attribute("data-status", "successful", timeout=60_000)
    screenshot(page, "upload-run")

    copied = dest / "nginx.conf"
    assert copied.read_text() == "worker_processes 2;\n"
    assert stat.S_IMODE(copied.stat().st_mode) == 0o600
    assert copied.stat().st_uid == os.getuid()
