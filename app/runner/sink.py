"""The event sink: ansible-runner's events into the database, in batches.

ansible-runner calls `handle` for every event and the cancel check (which calls
`tick`) every poll interval, both from the same thread, so the sink needs no lock.
Events wait in memory until enough of them are there or the oldest is old enough,
then go in with one multi-row insert and one update of the run's live counters.

A host's result for a task is stored with its event: which task it belongs to (by
the sequence of the task's start), the result as a word, and a short text of
what the task returned. The run page's host x task grid reads those, and needs
nothing else from the log.

The run's credential and the values of its secret parameters are masked in
every event before it is stored (`Masks`): ansible prints them as it is asked
to (`debug: var=`), and at high verbosity on its own.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Event, Run
from app.models.event import NOTE, TASK_STARTS
from app.models.run import MASKED as MASK
from app.models.run import STAT_KEYS
from app.models.timeutil import utcnow

log = logging.getLogger(__name__)

# ansible-runner event name -> the per-host counter it moves.
_COUNTED = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
}

# Characters of a result's text kept with its event; the log has all of it.
DETAIL_LIMIT = 4000
# Keys of a result that say nothing to a reader (ansible's internals).
_HIDDEN_KEYS = ("invocation", "_ansible_no_log", "_ansible_verbose_always")

# Final stats of `playbook_on_stats` -> our counter names.
_FINAL_STATS = {
    "ok": "ok",
    "changed": "changed",
    "failures": "failed",
    "dark": "unreachable",
    "skipped": "skipped",
}


class EventSink:
    def __init__(
        self,
        run_id: int,
        batch_size: int,
        batch_seconds: float,
        hide: Iterable[str] = (),
    ) -> None:
        self.run_id = run_id
        self.masks = Masks(hide)
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.seq = 0
        self.stats: dict[str, dict[str, int]] = {}
        self.final_stats_seen = False
        # Tasks started so far, and the sequence of each one's start event.
        self.task_count = 0
        self._task_seqs: dict[str, int] = {}
        self._pending: list[dict[str, Any]] = []
        self._oldest = 0.0
        # The run's row (its counters, its task count) waits for the next flush.
        self._run_changed = False
        # Set once another process closed the log: nothing more goes in.
        self._closed = False

    def handle(self, event: dict[str, Any]) -> bool:
        """ansible-runner's event handler; False keeps the event off the disk."""
        data = event.get("event_data") or {}
        name = event.get("event", "")
        self._count(name, data)

        stdout = self.masks.apply((event.get("stdout") or "").replace("\r\n", "\n"))
        self.seq += 1
        if not self._pending:
            self._oldest = time.monotonic()
        row = {
            "run_id": self.run_id,
            "seq": self.seq,
            "type": name[:64],
            "host": (data.get("host") or None),
            "task": self.masks.apply(data.get("task") or "") or None,
            "stdout": stdout,
            "task_seq": None,
            "result": None,
            "detail": None,
            "created_at": utcnow(),
        }
        if name in TASK_STARTS:
            self._task_started(data)
        elif name in _COUNTED and row["host"]:
            self._take_result(row, name, data)
        self._pending.append(row)
        if len(self._pending) >= self.batch_size:
            self.flush()
        return False

    def tick(self) -> None:
        """Write waiting events once the oldest has waited long enough."""
        if (
            self._pending
            and time.monotonic() - self._oldest >= self.batch_seconds
            or self._run_changed
        ):
            self.flush()

    def note(self, text: str) -> None:
        """End the log with a line of Playdeck's own, once ansible has stopped."""
        self.handle({"event": NOTE, "stdout": text})
        self.flush()

    def flush(self) -> None:
        if self._closed:
            self._pending = []
        if self._pending:
            try:
                db.session.execute(insert(Event), self._pending)
            except IntegrityError:
                # Another process ended this run and closed its log with a note
                # of its own (say, the reconciler, which took the run for lost):
                # these last events have no place after it.
                db.session.rollback()
                self._closed = True
                log.warning(
                    "run %s: log closed by another process; %s events dropped",
                    self.run_id,
                    len(self._pending),
                )
            self._pending = []
        if self._run_changed:
            db.session.execute(
                update(Run)
                .where(Run.id == self.run_id)
                .values(stats=self.stats, task_count=self.task_count)
            )
            self._run_changed = False
        db.session.commit()

    def _task_started(self, data: dict[str, Any]) -> None:
        self.task_count += 1
        uuid = data.get("task_uuid")
        if uuid:
            self._task_seqs[uuid] = self.seq
        self._run_changed = True

    def _take_result(
        self, row: dict[str, Any], name: str, data: dict[str, Any]
    ) -> None:
        """A host's final result for a task: its task, its word, its text."""
        result = data.get("res") or {}
        word = _COUNTED[name]
        if word == "ok" and result.get("changed"):
            word = "changed"
        elif word == "failed" and data.get("ignore_errors"):
            word = "ignored"
        # An ad-hoc run's module has no start event: its results go under 0.
        row["task_seq"] = self._task_seqs.get(data.get("task_uuid") or "", 0)
        row["result"] = word
        row["detail"] = _detail(result, self.masks)

    def _count(self, name: str, data: dict[str, Any]) -> None:
        if name == "playbook_on_stats":
            self._take_final_stats(data)
            return
        counter = _COUNTED.get(name)
        host = data.get("host")
        if counter is None or not host or self.final_stats_seen:
            return
        host_stats = self._host(host)
        result = data.get("res") or {}
        if counter == "failed" and data.get("ignore_errors"):
            counter = "ok"
        host_stats[counter] += 1
        if counter == "ok" and result.get("changed"):
            host_stats["changed"] += 1
        self._run_changed = True

    def _take_final_stats(self, data: dict[str, Any]) -> None:
        """ansible's own totals replace the running count at the end of a play."""
        final: dict[str, dict[str, int]] = {}
        for theirs, ours in _FINAL_STATS.items():
            for host, count in (data.get(theirs) or {}).items():
                final.setdefault(host, dict.fromkeys(STAT_KEYS, 0))[ours] = count
        for host in data.get("processed") or {}:
            final.setdefault(host, dict.fromkeys(STAT_KEYS, 0))
        self.stats = final
        self.final_stats_seen = True
        self._run_changed = True

    def _host(self, host: str) -> dict[str, int]:
        if host not in self.stats:
            self.stats[host] = dict.fromkeys(STAT_KEYS, 0)
        return self.stats[host]


def _detail(result: Any, masks: Masks) -> str:
    """What a task returned, as a short text: its message, else its JSON.

    Masked before it is cut, so that no cut leaves part of a secret.
    """
    if not isinstance(result, dict):
        return masks.apply(str(result))[:DETAIL_LIMIT]
    shown = {
        key: value
        for key, value in result.items()
        if key not in _HIDDEN_KEYS and not key.startswith("_ansible")
    }
    if set(shown) <= {"msg", "changed"} and isinstance(shown.get("msg"), str):
        text = shown["msg"]
    else:
        # Compact here, on the hot path; the page lays it out when it is shown.
        text = json.dumps(shown, default=str, ensure_ascii=False)
    text = masks.apply(text)
    if len(text) > DETAIL_LIMIT:
        text = text[:DETAIL_LIMIT] + "\n… (cut here: the log has all of it)"
    return text


class Masks:
    """Texts no log may show (a run's credential, its secret parameters),
    replaced by `MASK` wherever ansible prints them: as they are, or escaped
    inside its JSON results or Python strings.

    This catches a secret a task prints by mistake (`debug: var=ansible_password`,
    a command line echoed back on failure); it cannot catch one a task changes
    first (base64, reversed), which only the person writing the job can do.
    """

    def __init__(self, texts: Iterable[str]) -> None:
        forms = {
            form
            for text in texts
            if text.strip()
            for form in (
                text,
                text.replace("\r\n", "\n"),
                json.dumps(text)[1:-1],
                json.dumps(text, ensure_ascii=False)[1:-1],
                repr(text)[1:-1],
            )
        }
        # Longest first: a secret that holds another is masked whole.
        self.texts = sorted(forms, key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(re.escape(form) for form in self.texts))
            if self.texts
            else None
        )

    def apply(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)
