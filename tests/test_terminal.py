"""The terminal ansible-runner reads ansible's output from (app/runner/terminal.py)."""

from __future__ import annotations

import sys

import pexpect

import app.runner.execute  # noqa: F401  (installs the terminal, as workers do)
from app.runner.terminal import RunTerminal

# 3,000 lines of 300 characters: far more than a terminal's buffer holds.
CHATTY = "for n in range(3000):\n    print(f'{n:05d}' + 'x' * 294)\n"


class Collect:
    def __init__(self) -> None:
        self.text = ""

    def write(self, data: str) -> None:
        self.text += data

    def flush(self) -> None:
        pass


def test_ansible_runner_gets_the_run_terminal():
    assert pexpect.spawn is RunTerminal


def test_every_line_arrives_and_the_exit_status_is_kept():
    child = pexpect.spawn(sys.executable, ["-c", CHATTY], encoding="utf-8", echo=False)
    child.logfile_read = Collect()
    # As ansible-runner reads: short expects until the child is gone, then close.
    while child.isalive():
        child.expect([pexpect.TIMEOUT, pexpect.EOF], timeout=0.2)
    child.expect(pexpect.EOF, timeout=5)
    child.close()

    lines = child.logfile_read.text.splitlines()
    assert [line[:5] for line in lines] == [f"{n:05d}" for n in range(3000)]
    assert child.exitstatus == 0


def test_a_child_still_running_is_stopped_on_close():
    child = pexpect.spawn("sleep", ["30"], encoding="utf-8")
    child.close()

    assert not child.isalive()
    assert child.signalstatus is not None
