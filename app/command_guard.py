"""The command guard's judgement: which rule decides for each command a job would
execute, and whether the job reaches for the Playdeck machine itself.

Used twice for each run: by the launch service, which refuses a denied launch
and marks a warned run, and by the worker just before ansible starts, since the
job or its playbook may have changed while the run waited in the queue.

Commands and plain-word patterns are compared once normalised, so that trivial
disguises do not get a command past a rule: Unicode NFKC (full-width letters),
quotes, backquotes and backslashes removed (`r""m`, `r\\m`), `$IFS` read as a
space, runs of white space made one space, and case folded (`RM -RF`). A plain
pattern matches whole words (`rm` does not match `firmware`); a regular
expression is searched in the normalised command, ignoring case.

This is a seatbelt, not a sandbox: someone who may run shell commands can still
build one the guard does not recognise (variables, `eval`, encodings, a script
fetched from elsewhere). Its rules catch mistakes and make intentions explicit.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app import audit
from app.extensions import db
from app.models import (
    AuditAction,
    BuiltinCheck,
    Connection,
    GuardAction,
    GuardCheck,
    GuardRule,
    Job,
    JobKind,
    Role,
    Run,
    RunTrigger,
    User,
)
from app.runner.commands import (
    Command,
    LocalTarget,
    adhoc_commands,
    extra_var_targets,
    scan_project,
)

# Characters of a command shown in a message or kept on a run.
SHOWN = 300
# Scheduled runs are checked as if an operator launched them: the least role that
# may set a schedule, so nobody gets past an operator's rule by scheduling.
SCHEDULED_ROLE = Role.OPERATOR
_QUOTES = re.compile(r"[\\'\"`]")
_IFS = re.compile(r"\$\{?IFS\}?")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """The command as the guard compares it (see the module's docstring)."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\\\n", "")  # a line continued: one line to the shell
    text = _IFS.sub(" ", text)
    text = _QUOTES.sub("", text)
    return _SPACE.sub(" ", text).strip().casefold()


def compile_pattern(pattern: str, regex: bool) -> re.Pattern[str]:
    """The matcher of a rule; `re.error` for a bad regular expression, ValueError
    for plain words that normalise to nothing."""
    if regex:
        return re.compile(pattern, re.IGNORECASE)
    words = normalise(pattern)
    if not words:
        raise ValueError("these words are nothing once quotes and spaces are removed")
    # Whole words: a word character at an end of the pattern must not touch
    # another one in the command.
    start = r"(?<!\w)" if re.match(r"\w", words) else ""
    end = r"(?!\w)" if re.search(r"\w$", words) else ""
    return re.compile(start + re.escape(words) + end)


@dataclass(frozen=True)
class Rule:
    """A rule as the judgement uses it, apart from the database row."""

    id: int | None
    position: int
    pattern: str
    regex: bool
    action: str
    role: str | None = None
    reason: str = ""

    @classmethod
    def of(cls, row: GuardRule) -> Rule:
        return cls(
            row.id,
            row.position,
            row.pattern,
            row.regex,
            row.action,
            row.role,
            row.reason,
        )

    @property
    def name(self) -> str:
        who = f" for {self.role}s" if self.role else ""
        return f"guard rule {self.position} ({self.action} “{self.pattern}”{who})"


@dataclass(frozen=True)
class Finding:
    """A command a `deny` or `warn` rule matched."""

    rule: Rule
    command: Command

    def as_warning(self) -> dict[str, Any]:
        """How a run keeps it (`Run.guard_warnings`)."""
        return {
            "rule": self.rule.id,
            "pattern": self.rule.pattern,
            "where": self.command.where,
            "command": shown(self.command.text),
        }

    def sentence(self) -> str:
        reason = f" {self.rule.reason}" if self.rule.reason else ""
        return (
            f"{self.rule.name}: {self.command.where}: "
            f"{shown(self.command.text)}.{reason}"
        )


@dataclass
class Verdict:
    denied: list[Finding] = field(default_factory=list)
    warned: list[Finding] = field(default_factory=list)
    # What the built-in check refuses: reaching the Playdeck machine.
    local: list[LocalTarget] = field(default_factory=list)

    @property
    def refusal(self) -> str | None:
        """The message of a refused launch, naming the rule; None when it may run."""
        if self.denied:
            more = len(self.denied) - 1
            tail = f" ({more} more command{'s' if more != 1 else ''} refused.)"
            return "Refused by " + self.denied[0].sentence() + (tail if more else "")
        if self.local:
            first = self.local[0]
            return (
                f"Refused by the built-in check “{BuiltinCheck.LOCAL_TARGET.title}”: "
                f"{first.where} has {first.what}, which acts on the machine "
                "Playdeck runs on, and not every host of this job is a "
                "local-connection host. An admin can turn this check off on the "
                "Guard page."
            )
        return None

    @property
    def fields(self) -> dict[str, str]:
        """The refusal under the job's field each problem comes from."""
        found: dict[str, str] = {}
        for finding in self.denied:
            found.setdefault(finding.command.field, "Refused by " + finding.sentence())
        if not self.denied:
            for target in self.local:
                found.setdefault(target.field, self.refusal or "")
        return found

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return [finding.as_warning() for finding in self.warned]


def shown(text: str) -> str:
    """A command on one line, cut to a length a message can hold."""
    line = _SPACE.sub(" ", text).strip()
    return line if len(line) <= SHOWN else line[: SHOWN - 1] + "…"


def judge(
    commands: Iterable[Command],
    rules: Sequence[Rule],
    role: str,
    local: Iterable[LocalTarget] = (),
) -> Verdict:
    """Each command against the rules in order; the first rule that matches wins.

    Rules for another role are passed over. `allow` ends the search for that
    command without a mark. `local` is what the built-in check refuses.
    """
    matchers = [(rule, compile_pattern(rule.pattern, rule.regex)) for rule in rules]
    verdict = Verdict(local=list(local))
    for command in commands:
        text = normalise(command.text)
        for rule, matcher in matchers:
            if rule.role is not None and rule.role != role:
                continue
            if not matcher.search(text):
                continue
            if rule.action == GuardAction.DENY:
                verdict.denied.append(Finding(rule, command))
            elif rule.action == GuardAction.WARN:
                verdict.warned.append(Finding(rule, command))
            break
    return verdict


def role_of(user: User | None, trigger: str) -> str:
    """The role whose rules apply to a launch."""
    if trigger == RunTrigger.SCHEDULED or user is None:
        return SCHEDULED_ROLE.value
    return str(user.role)


def check_enabled(check: BuiltinCheck) -> bool:
    row = db.session.get(GuardCheck, check.value)
    return row is None or row.enabled


def rules() -> list[GuardRule]:
    return list(
        db.session.scalars(select(GuardRule).order_by(GuardRule.position, GuardRule.id))
    )


def screen(job: Job, role: str, extra_vars: Mapping[str, Any] | None = None) -> Verdict:
    """What the guard says of launching `job` now, for someone of `role`.

    `extra_vars` are the launch's own (with its parameters' values), over the
    job's.
    """
    variables = {**(job.extra_vars or {}), **(extra_vars or {})}
    commands, local = job_commands(job, variables)
    if not check_enabled(BuiltinCheck.LOCAL_TARGET) or all_hosts_local(job):
        local = []
    return judge(commands, [Rule.of(row) for row in rules()], role, local)


def job_commands(
    job: Job, variables: Mapping[str, Any]
) -> tuple[list[Command], list[LocalTarget]]:
    """What the job would execute, and what of it reaches the Playdeck machine."""
    local = extra_var_targets(variables, "extra_vars")
    if job.kind == JobKind.ADHOC:
        return adhoc_commands(job.module, job.args, variables), local
    if job.kind == JobKind.PLAYBOOK and job.playbook is not None:
        files = {file.name: file.content for file in job.playbook.files}
        found = scan_project(files, variables)
        return found.commands, local + found.local
    # An upload job runs Playdeck's own copy tasks, nothing of anyone's writing.
    return [], local


def all_hosts_local(job: Job) -> bool:
    """Whether every host the job targets is a local-connection host: then acting
    on the Playdeck machine is what the job is for."""
    hosts = {host.id: host for host in job.hosts}
    for group in job.groups:
        hosts.update({host.id: host for host in group.hosts})
    return bool(hosts) and all(
        host.connection == Connection.LOCAL for host in hosts.values()
    )


def check_at_start(run: Run) -> str | None:
    """The guard once more, in the worker just before ansible starts.

    The job, its playbook or a rule may have changed while the run waited in
    the queue; what runs is what is stored now. Returns the refusal, or None;
    warnings not found at launch are added to the run and the audit trail.
    """
    # The parameters' values are variables too (secrets masked, as at launch).
    variables = {**(run.extra_vars or {}), **(run.parameters or {})}
    verdict = screen(run.job, role_of(run.launched_by, run.trigger), variables)
    if verdict.refusal is not None:
        record_refusal(run, f"run {run.id} of {what(run.job)} as it started", verdict)
        return verdict.refusal
    known = run.guard_warnings or []
    new = [finding for finding in verdict.warned if finding.as_warning() not in known]
    if new:
        run.guard_warnings = [*known, *(finding.as_warning() for finding in new)]
        db.session.commit()
        record_warnings(run, new)
    return None


def what(job: Job) -> str:
    """A job as the guard's audit entries name it."""
    if job.hidden:
        return f"quick command {job.description}"
    return f"job {job.name}"


def record_refusal(target: Any, launch: str, verdict: Verdict) -> None:
    """One audit entry for a refused launch; `launch` says which one."""
    changes: dict[str, Any]
    if verdict.denied:
        first = verdict.denied[0]
        changes = first.as_warning() | {"refused": len(verdict.denied)}
    else:
        changes = {
            "check": BuiltinCheck.LOCAL_TARGET.value,
            "where": verdict.local[0].where,
            "found": verdict.local[0].what,
        }
    audit.record(
        AuditAction.GUARD_DENY,
        target,
        f"{launch} refused: {verdict.refusal}",
        changes=changes,
    )


def record_warnings(run: Run, findings: Sequence[Finding]) -> None:
    """One audit entry per warned command of a run that goes ahead."""
    for finding in findings:
        audit.record(
            AuditAction.GUARD_WARN,
            run,
            f"run {run.id} of {what(run.job)} warned by {finding.sentence()}",
            changes=finding.as_warning(),
        )
