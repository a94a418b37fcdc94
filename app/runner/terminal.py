"""How ansible-runner reads ansible's terminal, set for a run's output.

ansible-runner runs ansible-playbook on a pseudo-terminal through pexpect and
has no setting for how that terminal is read. pexpect's defaults suit a program
one talks to, not one that prints thousands of lines:

- It reads at most 2,000 characters at a time and sleeps after each read. The
  terminal holds only a few kilobytes, so ansible waits to print its next line
  until the work-horse has read the last ones: on a busy machine a run over 500
  hosts took half as long again as ansible-playbook alone.
- ptyprocess sleeps 0.1 s after closing the terminal, for the kernel to update
  the child's status. ansible-runner closes it only once ansible-playbook has
  exited and was reaped, so every run waited 0.1 s for nothing.

`install()` makes pexpect's `spawn`, which ansible-runner calls, this one.
"""

from __future__ import annotations

import pexpect

# Characters one read takes at most: all a terminal's buffer holds, and more.
READ_SIZE = 65536


class RunTerminal(pexpect.spawn):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("maxread", READ_SIZE)
        super().__init__(*args, **kwargs)
        self.delayafterread = None

    def close(self, force: bool = True) -> None:
        if not self.isalive():
            self.ptyproc.delayafterclose = 0
        super().close(force)


def install() -> None:
    pexpect.spawn = RunTerminal  # type: ignore[misc]
