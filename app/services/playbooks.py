"""Creating, changing and deleting playbooks: stored Ansible projects.

A playbook is checked as a whole before it is saved, so that a run never starts
from a project ansible-playbook would refuse: safe relative file names, an entry
file among the files, YAML files that parse, and an entry file that is a list of
plays. Errors name the file and, for YAML, the line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.extensions import db
from app.models import AuditAction, Job, Playbook, PlaybookFile
from app.services import ServiceError
from app.validation import Invalid, check_playbook_yaml, parse_yaml

log = logging.getLogger(__name__)

# Characters a file name may hold; anything else is refused rather than escaped.
FILE_NAME = re.compile(r"^[A-Za-z0-9_./-]+$")
YAML_SUFFIXES = (".yml", ".yaml")
# The columns' sizes in the schema.
MAX_NAME = 255

Files = Mapping[str, str] | Iterable[tuple[str, str]]


def check_file_name(name: str) -> str:
    """A relative path that stays inside the project; `Invalid` says what is wrong."""
    if not name:
        raise Invalid("A file needs a name.")
    if len(name) > MAX_NAME:
        raise Invalid(f"A file name has at most {MAX_NAME} characters.")
    if name.startswith("/"):
        raise Invalid("File names are relative paths: no leading /.")
    segments = name.split("/")
    if ".." in segments or "." in segments:
        raise Invalid("A file name may not hold '..' or '.' segments.")
    if not FILE_NAME.match(name):
        raise Invalid("Use only letters, digits and _ . / - in file names.")
    if "" in segments:
        raise Invalid("A file name may not hold an empty segment (// or a final /).")
    return name


def create_playbook(*, name: str, entry: str, files: Files) -> Playbook:
    """A new playbook; `files` maps file names to their text (or is a list of pairs).

    A list of pairs lets a form report a repeated file name, which a mapping would
    silently merge; field errors then name `files.<index>.name` or `.content`.
    """
    name, entry, pairs = _checked(None, name, entry, files)

    playbook = Playbook(name=name, entry=entry)
    playbook.files = [PlaybookFile(name=key, content=text) for key, text in pairs]
    db.session.add(playbook)
    _commit(name)

    log.info("playbook created id=%s name=%s files=%s", playbook.id, name, len(pairs))
    audit.record(
        AuditAction.CREATE,
        playbook,
        f"playbook {name} added",
        changes={"name": name, "entry": entry, "files": sorted(dict(pairs))},
    )
    return playbook


def update_playbook(
    playbook: Playbook, *, name: str, entry: str, files: Files
) -> Playbook:
    """Replace the playbook's name, entry and files; the same checks as creating.

    Files are matched by name: kept ones are updated in place and the others
    removed, so the unique (playbook, name) index never sees two rows at once.
    """
    name, entry, pairs = _checked(playbook, name, entry, files)
    before = _view(playbook)

    playbook.name = name
    playbook.entry = entry
    wanted = dict(pairs)
    for stored in list(playbook.files):
        if stored.name in wanted:
            stored.content = wanted.pop(stored.name)
        else:
            playbook.files.remove(stored)
    for key, text in wanted.items():
        playbook.files.append(PlaybookFile(name=key, content=text))
    _commit(name)

    log.info("playbook updated id=%s name=%s files=%s", playbook.id, name, len(pairs))
    after = _view(playbook)
    # File texts stay out of the trail (a playbook may be long); which files
    # changed is said by name.
    changes = audit.changed(
        {key: before[key] for key in ("name", "entry", "files")},
        {key: after[key] for key in ("name", "entry", "files")},
    )
    edited = sorted(
        file
        for file, text in after["texts"].items()
        if file in before["texts"] and before["texts"][file] != text
    )
    if edited:
        changes["edited_files"] = edited
    audit.record(
        AuditAction.UPDATE,
        playbook,
        f"playbook {name} changed: {', '.join(changes) or 'nothing'}",
        changes=changes,
    )
    return playbook


def delete_playbook(playbook: Playbook) -> None:
    """Delete a playbook no job uses; the refusal names the jobs that do."""
    users = jobs_using(playbook)
    if users:
        raise ServiceError(_in_use_message(playbook, users))

    playbook_id, name = playbook.id, playbook.name
    gone = audit.ref(playbook)
    db.session.delete(playbook)
    try:
        db.session.commit()
    except IntegrityError as exc:
        # A job took the playbook between the check and the delete (RESTRICT).
        db.session.rollback()
        raise ServiceError(_in_use_message(playbook, jobs_using(playbook))) from exc

    log.info("playbook deleted id=%s name=%s", playbook_id, name)
    audit.record(AuditAction.DELETE, gone, f"playbook {name} deleted")


def jobs_using(playbook: Playbook) -> list[Job]:
    return list(
        db.session.scalars(
            select(Job).where(Job.playbook_id == playbook.id).order_by(Job.name)
        )
    )


def job_counts() -> dict[int, int]:
    """How many jobs use each playbook, for the list page."""
    rows = db.session.execute(
        select(Job.playbook_id, func.count(Job.id))
        .where(Job.playbook_id.is_not(None))
        .group_by(Job.playbook_id)
    )
    return {playbook_id: count for playbook_id, count in rows}


def _view(playbook: Playbook) -> dict:
    texts = {file.name: file.content for file in playbook.files}
    return {
        "name": playbook.name,
        "entry": playbook.entry,
        "files": sorted(texts),
        "texts": texts,
    }


def _in_use_message(playbook: Playbook, users: list[Job]) -> str:
    names = ", ".join(job.name for job in users) or "a job"
    return (
        f"Playbook {playbook.name} is used by {names}: change or delete "
        f"{'that job' if len(users) == 1 else 'those jobs'} first."
    )


def _checked(
    playbook: Playbook | None, name: str, entry: str, files: Files
) -> tuple[str, str, list[tuple[str, str]]]:
    """Every rule of a playbook at once, so the form shows all its errors together."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    entry = (entry or "").strip()
    items = files.items() if isinstance(files, Mapping) else files
    # Browsers send textarea lines ending in CRLF; the project files get LF.
    pairs = [
        ((key or "").strip(), (text or "").replace("\r\n", "\n")) for key, text in items
    ]

    if not name:
        errors["name"] = "A playbook needs a name."
    elif len(name) > MAX_NAME:
        errors["name"] = f"A name has at most {MAX_NAME} characters."
    elif _name_taken(name, playbook):
        errors["name"] = f"A playbook named {name} already exists."

    if not pairs:
        errors["files"] = "Add at least one file."
    seen: set[str] = set()
    for index, (key, text) in enumerate(pairs):
        try:
            check_file_name(key)
        except Invalid as exc:
            errors[f"files.{index}.name"] = str(exc)
            continue
        if key in seen:
            errors[f"files.{index}.name"] = f"{key} is already a file of this playbook."
            continue
        seen.add(key)
        message = file_problem(key, text, entry)
        if message:
            errors[f"files.{index}.content"] = message
    _check_folders(pairs, errors)

    if not entry:
        errors["entry"] = "Name the entry file, say site.yml."
    elif entry not in {key for key, _ in pairs}:
        errors["entry"] = f"Missing entry file: {entry} is not one of the files."

    if errors:
        raise ServiceError("The playbook was not saved: see the fields marked.", errors)
    return name, entry, pairs


def file_problem(key: str, text: str, entry: str) -> str | None:
    """What a save would say about one file's text (YAML files and the entry
    file), or None; the form also asks while one types.
    """
    key, entry = (key or "").strip(), (entry or "").strip()
    if not (key.endswith(YAML_SUFFIXES) or key == entry):
        return None
    return _yaml_problem(key, (text or "").replace("\r\n", "\n"), key == entry)


def _yaml_problem(key: str, text: str, is_entry: bool) -> str | None:
    try:
        check_playbook_yaml(text)
    except Invalid as exc:
        return f"{key}: {exc}"
    if is_entry:
        plays = parse_yaml(text)
        if not isinstance(plays, list) or not plays:
            return f"{key}: a playbook is a list of plays, each starting with '- '."
        if not all(isinstance(play, dict) for play in plays):
            return f"{key}: every item of the list must be a play (a mapping)."
    return None


def _check_folders(pairs: list[tuple[str, str]], errors: dict[str, str]) -> None:
    """A file cannot also be a folder of another one (`roles` and `roles/x.yml`)."""
    names = {key for key, _ in pairs}
    for index, (key, _) in enumerate(pairs):
        if f"files.{index}.name" in errors:
            continue
        parts = key.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder in names:
                errors[f"files.{index}.name"] = (
                    f"{folder} is a file, so it cannot also be a folder."
                )
                break


def _name_taken(name: str, playbook: Playbook | None) -> bool:
    query = select(Playbook.id).where(Playbook.name == name)
    if playbook is not None and playbook.id is not None:
        query = query.where(Playbook.id != playbook.id)
    return db.session.scalar(query) is not None


def _commit(name: str) -> None:
    """Commit; a name taken by someone else meanwhile becomes a field error."""
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        log.warning("playbook %s not saved: %s", name, exc.orig)
        raise ServiceError(
            "The playbook was not saved: see the fields marked.",
            {"name": f"A playbook named {name} already exists."},
        ) from exc
