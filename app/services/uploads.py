"""Upload jobs: where they copy their files, and the files, checked before they
are stored.

A file's name is refused, not silently changed, when it could mean anything but
one plain file in the destination folder: it is first normalised (Unicode NFKC,
so a full-width ／ becomes the / it looks like), then refused if it is empty,
longer than 255 bytes, holds a / or \\ or a control or invisible formatting
character (NUL, newline, right-to-left override), starts with a dot (`..`,
`.bashrc`), a dash (`-rf`, which a command on the host would take for options)
or a tilde, or starts or ends with a space. The person who uploads sees why and
renames the file; what lands on the hosts is the name they gave.

Sizes are limited per file and for all the files of a job together
(`PLAYDECK_UPLOAD_MAX_FILE`, `PLAYDECK_UPLOAD_MAX_TOTAL`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.models import Job, JobKind, Upload, UploadFile
from app.queue import settings
from app.services import ServiceError
from app.validation import Invalid

MAX_NAME_BYTES = 255
MAX_DEST = 4096
DEFAULT_MODE = "0644"
_MODE = re.compile(r"^[0-7]{3,4}$")
# A user name or a numeric id on the targets.
_OWNER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}\$?$")
# Unicode categories no file name may hold: control, format (bidi overrides,
# zero-width characters), surrogates, line and paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


@dataclass(frozen=True)
class NewFile:
    name: str
    content: bytes


@dataclass(frozen=True)
class UploadInput:
    """What a form or the API gives for an upload job.

    `files` are added; one named like a stored file replaces it. `remove` names
    stored files to drop. With `replace`, `files` are the whole set and every
    other stored file goes.
    """

    dest: str = ""
    owner: str = ""
    mode: str = DEFAULT_MODE
    files: tuple[NewFile, ...] = ()
    remove: tuple[str, ...] = ()
    replace: bool = False


@dataclass
class Checked:
    """An upload as it will be stored: stored files kept by name, and new ones."""

    dest: str
    owner: str
    mode: str
    keep: set[str] = field(default_factory=set)
    new: list[NewFile] = field(default_factory=list)


def check_file_name(raw: str) -> str:
    """The name a file is stored and copied under; `Invalid` says what is wrong."""
    name = unicodedata.normalize("NFKC", raw or "")
    if not name:
        raise Invalid("A file needs a name.")
    if any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in name):
        raise Invalid(f"{shown(name)}: a file name may not hold control characters.")
    if "/" in name or "\\" in name:
        raise Invalid(
            f"{shown(name)}: a file name may not hold / or \\; give the folder as "
            "the destination."
        )
    if name.startswith("."):
        raise Invalid(f"{shown(name)}: a file name may not start with a dot.")
    if name.startswith(("-", "~")):
        raise Invalid(f"{shown(name)}: a file name may not start with - or ~.")
    if name != name.strip():
        raise Invalid(f"{shown(name)}: a file name may not start or end with a space.")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise Invalid(f"{shown(name)}: a file name has at most 255 bytes.")
    return name


def shown(name: str) -> str:
    """A name for a message: characters that do not print shown as escapes."""
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in name)


def size_text(size: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def checked(
    job: Job | None, given: UploadInput | None, errors: dict[str, str]
) -> Checked:
    """The upload a job will have, or messages in `errors` under dest, owner, mode
    and files. `given` None keeps the job's upload as it is."""
    stored: Upload | None = getattr(job, "upload", None) if job is not None else None
    if given is None:
        if stored is not None:
            return Checked(
                stored.dest, stored.owner, stored.mode, {f.name for f in stored.files}
            )
        given = UploadInput()

    result = Checked(
        _dest(given.dest, errors),
        _owner(given.owner, errors),
        _mode(given.mode, errors),
    )
    sizes = {}
    if stored is not None and not given.replace:
        sizes = {file.name: file.size for file in stored.files}
        result.keep = set(sizes) - set(given.remove)
    _new_files(given.files, result, sizes, errors)
    return result


def _dest(raw: str, errors: dict[str, str]) -> str:
    dest = (raw or "").strip()
    if not dest:
        errors["dest"] = "Give the folder on the hosts to copy the files into."
    elif not dest.startswith("/"):
        errors["dest"] = "Give an absolute path, starting with /."
    elif len(dest) > MAX_DEST:
        errors["dest"] = f"A path has at most {MAX_DEST} characters."
    elif any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in dest):
        errors["dest"] = "A path may not hold control characters."
    return dest.rstrip("/") or "/"


def _owner(raw: str, errors: dict[str, str]) -> str:
    owner = (raw or "").strip()
    if owner and not _OWNER.match(owner):
        errors["owner"] = "A user name on the hosts, like deploy; or empty."
    return owner


def _mode(raw: str, errors: dict[str, str]) -> str:
    mode = (raw or "").strip() or DEFAULT_MODE
    if not _MODE.match(mode):
        errors["mode"] = "Give the mode in octal, like 0644 or 0755."
        return mode
    return mode.rjust(4, "0")


def _new_files(
    files: Iterable[NewFile],
    result: Checked,
    stored_sizes: Mapping[str, int],
    errors: dict[str, str],
) -> None:
    config = settings()
    problems = []
    seen: set[str] = set()
    for file in files:
        try:
            name = check_file_name(file.name)
        except Invalid as exc:
            problems.append(str(exc))
            continue
        if name in seen:
            problems.append(f"{shown(name)} is given twice.")
            continue
        seen.add(name)
        if len(file.content) > config.upload_max_file:
            problems.append(
                f"{shown(name)} is {size_text(len(file.content))}; a file may be at "
                f"most {size_text(config.upload_max_file)}."
            )
            continue
        result.keep.discard(name)
        result.new.append(NewFile(name, file.content))

    count = len(result.keep) + len(result.new)
    total = sum(stored_sizes[name] for name in result.keep) + sum(
        len(file.content) for file in result.new
    )
    if not problems and count == 0:
        problems.append("Add at least one file to copy.")
    elif count > config.upload_max_files:
        problems.append(f"A job copies at most {config.upload_max_files} files.")
    elif total > config.upload_max_total:
        problems.append(
            f"The files come to {size_text(total)}; a job's files may be at most "
            f"{size_text(config.upload_max_total)} together."
        )
    if problems:
        errors["files"] = " ".join(problems)


def apply(job: Job, value: Checked | None) -> None:
    """Store the upload on the job (None: the job is of another kind, it has none)."""
    if value is None:
        job.upload = None  # type: ignore[attr-defined]
        return
    upload: Upload = getattr(job, "upload", None) or Upload()
    upload.dest, upload.owner, upload.mode = value.dest, value.owner, value.mode
    new = {file.name: file for file in value.new}
    for stored in list(upload.files):
        if stored.name in new:
            _fill(stored, new.pop(stored.name).content)
        elif stored.name not in value.keep:
            upload.files.remove(stored)
    for file in new.values():
        row = UploadFile(name=file.name)
        _fill(row, file.content)
        upload.files.append(row)
    job.upload = upload  # type: ignore[attr-defined]


def _fill(row: UploadFile, content: bytes) -> None:
    row.content = content
    row.size = len(content)
    row.sha256 = hashlib.sha256(content).hexdigest()


def view(job: Job) -> dict[str, Any] | None:
    """An upload as the audit trail keeps it: files by name, size and digest."""
    upload: Upload | None = getattr(job, "upload", None)
    if upload is None:
        return None
    return {
        "dest": upload.dest,
        "owner": upload.owner,
        "mode": upload.mode,
        "files": [
            f"{file.name} ({size_text(file.size)}, sha256 {file.sha256[:12]})"
            for file in upload.files
        ],
    }


def check_launch(job: Job, extra_vars: Mapping[str, Any] | None) -> None:
    """An upload job runs its copy and nothing else, so it takes no variables."""
    if job.kind != JobKind.UPLOAD:
        return
    upload: Upload | None = getattr(job, "upload", None)
    if upload is None or not upload.files:
        raise ServiceError(
            "This job has no file to copy.", {"files": "Add a file to the job."}
        )
    if extra_vars:
        raise ServiceError(
            "The run was not launched: an upload job takes no extra variables.",
            {"extra_vars": "An upload job runs only its copy; leave this empty."},
        )
