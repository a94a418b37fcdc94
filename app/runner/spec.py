"""What a run needs from the database, as plain values."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class HostSpec:
    name: str
    address: str
    port: int
    connection: str
    vars: dict[str, Any] = field(default_factory=dict)
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class CredentialSpec:
    kind: str
    username: str
    secret: str
    become_password: str | None = None

    def hidden(self) -> tuple[str, ...]:
        """What of this credential a run's log must never show: the password and
        the become password, or each line of the private key but its armour."""
        texts = [self.become_password or ""]
        if self.kind == "ssh_key":
            lines = self.secret.splitlines()
            texts += [line for line in lines if not line.startswith("-----")]
        else:
            texts.append(self.secret)
        return tuple(text for text in texts if text.strip())


@dataclass(frozen=True)
class UploadSpec:
    """What an upload job copies: (name, content) of each file, and where."""

    dest: str
    files: tuple[tuple[str, bytes], ...]
    owner: str = ""
    mode: str = "0644"


@dataclass(frozen=True)
class RunOptions:
    """How ansible runs, on its command line; the defaults are ansible's own."""

    tags: str = ""
    skip_tags: str = ""
    check_mode: bool = False
    diff_mode: bool = False
    verbosity: int = 0
    become: bool = False
    become_user: str = ""
    become_method: str = ""
    remote_user: str = ""


@dataclass(frozen=True)
class RunSpec:
    run_id: int
    kind: str
    hosts: tuple[HostSpec, ...]
    group_vars: dict[str, dict[str, Any]] = field(default_factory=dict)
    module: str = ""
    args: str = ""
    playbook_files: dict[str, str] = field(default_factory=dict)
    entry: str = ""
    extra_vars: dict[str, Any] = field(default_factory=dict)
    forks: int = 5
    # Seconds.
    timeout: int = 3600
    credential: CredentialSpec | None = None
    # Tells this run's processes apart from every other's, across workers.
    marker: str = ""
    # An Ansible host pattern given at launch (--limit); "" runs on all hosts.
    limit: str = ""
    # An upload job's files and destination; None for other kinds.
    upload: UploadSpec | None = None
    options: RunOptions = field(default_factory=RunOptions)
    # The values of the job's parameters, secrets in clear: they go to ansible
    # in a file of the scratch folder, never on a command line.
    parameters: dict[str, Any] = field(default_factory=dict)
    # The secret ones among them, masked in every event of the log.
    secrets: tuple[str, ...] = ()


def run_marker(run_id: int, database_url: str) -> str:
    """A value set in the environment of every process of one run."""
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:10]
    return f"{digest}-{run_id}"
