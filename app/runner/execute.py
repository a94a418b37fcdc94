"""One ansible-runner call for one run, with cancel, timeout and clean-up."""

from __future__ import annotations

import logging
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import ansible_runner

from app.runner import process, terminal
from app.runner.sink import EventSink
from app.runner.spec import RunOptions, RunSpec
from app.runner.upload import write_upload
from app.runner.workspace import (
    ansible_environment,
    drop_settings,
    inventory,
    scratch_folder,
    write_project,
    write_secrets,
)

log = logging.getLogger(__name__)

# ansible-runner reads ansible's output faster this way: see app/runner/terminal.py.
terminal.install()


@dataclass
class Outcome:
    """How a run ended, as the worker reports it to the RQ callbacks."""

    status: str
    rc: int | None
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    error: str = ""

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "rc": self.rc,
            "stats": self.stats,
            "error": self.error,
        }


class StopControl:
    """ansible-runner's cancel callback: stops a run that is canceled or too long.

    Stopping asks ansible-playbook first (SIGTERM), then, after `grace` seconds,
    answers True so that ansible-runner kills its process group; whatever of the
    run is still alive after that is killed by marker.
    """

    def __init__(
        self,
        marker: str,
        cancel_requested: Callable[[], bool],
        timeout: float,
        grace: float,
        on_tick: Callable[[], None],
    ) -> None:
        self.marker = marker
        self.cancel_requested = cancel_requested
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.grace = grace
        self.on_tick = on_tick
        self.reason: str | None = None
        self._stop_started = 0.0

    def __call__(self) -> bool:
        self.on_tick()
        if self.reason is None:
            if self.cancel_requested():
                self.reason = "canceled"
            elif time.monotonic() >= self.deadline:
                self.reason = "timeout"
            else:
                return False
            log.info("stopping run marker=%s reason=%s", self.marker, self.reason)
            self._stop_started = time.monotonic()
            process.terminate_children(self.marker)
        return time.monotonic() - self._stop_started >= self.grace


def execute(
    spec: RunSpec,
    data_dir: Path,
    sink: EventSink,
    cancel_requested: Callable[[], bool],
    *,
    grace: float,
    poll_interval: float,
    host_key_checking: bool,
    heartbeat: Callable[[], None] = lambda: None,
) -> Outcome:
    """Run ansible for the spec; `heartbeat` is called with every stop check."""

    def tick() -> None:
        # The heartbeat first: a slow database write of events must not delay it.
        heartbeat()
        sink.tick()

    with scratch_folder(data_dir, spec.run_id) as scratch:
        stop = StopControl(
            spec.marker, cancel_requested, spec.timeout, grace, on_tick=tick
        )
        try:
            runner = _run(spec, scratch, sink, stop, poll_interval, host_key_checking)
        finally:
            left = process.kill_all(spec.marker)
            if left:
                log.info("killed %s leftover processes of run %s", left, spec.run_id)
            sink.flush()

    return _outcome(spec, runner, sink, stop)


def _run(spec, scratch, sink, stop, poll_interval, host_key_checking):
    cmdline = write_secrets(scratch.root, spec.credential, spec.parameters)
    cmdline += option_arguments(spec.options)
    kwargs = {
        "private_data_dir": str(scratch.root),
        "inventory": inventory(spec),
        "extravars": spec.extra_vars,
        "envvars": ansible_environment(
            scratch, process.MARKER_VARIABLE, spec.marker, host_key_checking
        ),
        "forks": spec.forks,
        "event_handler": sink.handle,
        "cancel_callback": stop,
        "quiet": True,
        "settings": {
            "pexpect_timeout": poll_interval,
            "suppress_output_file": True,
            "suppress_ansible_output": True,
        },
    }
    if cmdline:
        kwargs["cmdline"] = shlex.join(cmdline)
    if spec.kind == "adhoc":
        kwargs.update(
            host_pattern="all", module=spec.module, module_args=spec.args or None
        )
    elif spec.upload is not None:
        kwargs["playbook"] = write_upload(scratch.root, spec.upload)
    else:
        write_project(scratch.root, spec.playbook_files)
        kwargs["playbook"] = spec.entry
        # `ansible` (ad hoc) has no tags: an ad-hoc job keeps none (see
        # app.services.options).
        if spec.options.tags:
            kwargs["tags"] = spec.options.tags
        if spec.options.skip_tags:
            kwargs["skip_tags"] = spec.options.skip_tags
    if spec.limit:
        kwargs["limit"] = spec.limit
    if spec.options.verbosity:
        kwargs["verbosity"] = spec.options.verbosity
    # ansible_runner.run() is these two calls; between them the environment ansible
    # will get is known and can be cleaned.
    runner = ansible_runner.interface.init_runner(**kwargs)
    drop_settings(runner.config.env, kwargs["envvars"])
    runner.run()
    return runner


def option_arguments(options: RunOptions) -> list[str]:
    """The run options ansible-runner has no keyword for, as ansible's flags;
    the same for `ansible` and `ansible-playbook`."""
    arguments = []
    if options.check_mode:
        arguments.append("--check")
    if options.diff_mode:
        arguments.append("--diff")
    if options.become:
        arguments.append("--become")
        if options.become_user:
            arguments += ["--become-user", options.become_user]
        if options.become_method:
            arguments += ["--become-method", options.become_method]
    if options.remote_user:
        arguments += ["--user", options.remote_user]
    return arguments


def _outcome(spec: RunSpec, runner, sink: EventSink, stop: StopControl) -> Outcome:
    stats = sink.stats
    if stop.reason == "canceled":
        return Outcome("canceled", runner.rc, stats, "canceled while running")
    if stop.reason == "timeout":
        return Outcome(
            "timeout", runner.rc, stats, f"stopped after the {spec.timeout} s timeout"
        )
    if runner.status == "successful":
        return Outcome("successful", runner.rc, stats)
    if runner.status == "failed":
        return Outcome("failed", runner.rc, stats, _failure_reason(runner.rc, stats))
    return Outcome(
        "error", runner.rc, stats, f"ansible-runner ended with status {runner.status}"
    )


def _failure_reason(rc: int | None, stats: dict[str, dict[str, int]]) -> str:
    failed = sorted(h for h, s in stats.items() if s.get("failed"))
    unreachable = sorted(h for h, s in stats.items() if s.get("unreachable"))
    parts = []
    if failed:
        parts.append("failed on " + ", ".join(failed))
    if unreachable:
        parts.append("unreachable: " + ", ".join(unreachable))
    if not parts:
        parts.append(f"ansible exited with code {rc}; see the log")
    return "; ".join(parts)
