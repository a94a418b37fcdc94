"""Rows for tests, with sensible defaults: ansible on localhost needs no SSH."""

from __future__ import annotations

import itertools
from typing import Any

from app.crypto import encrypt
from app.extensions import db
from app.models import Credential, Group, Host, Job, Playbook, PlaybookFile, User
from app.services.users import hash_password

_numbers = itertools.count(1)

PING_PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: say hello
      ansible.builtin.debug:
        msg: hello from {{ inventory_hostname }}
"""


# The password of every user `Factory.user` makes; hashed once, scrypt is slow.
PASSWORD = "correct horse battery"
_PASSWORD_HASH: list[str] = []


class Factory:
    def _save(self, row):
        db.session.add(row)
        db.session.commit()
        return row

    def user(self, name: str | None = None, role: str = "admin", **fields: Any) -> User:
        """A user whose password is `PASSWORD`."""
        if not _PASSWORD_HASH:
            _PASSWORD_HASH.append(hash_password(PASSWORD))
        fields.setdefault("password_hash", _PASSWORD_HASH[0])
        return self._save(
            User(username=name or f"{role}{next(_numbers)}", role=role, **fields)
        )

    def host(self, name: str | None = None, **fields: Any) -> Host:
        fields.setdefault("address", "127.0.0.1")
        fields.setdefault("connection", "local")
        fields.setdefault("port", 22)
        fields.setdefault("vars", {})
        return self._save(Host(name=name or f"host{next(_numbers)}", **fields))

    def group(self, name: str | None = None, hosts=(), **fields: Any) -> Group:
        fields.setdefault("vars", {})
        group = Group(name=name or f"group{next(_numbers)}", **fields)
        group.hosts = list(hosts)
        return self._save(group)

    def credential(
        self,
        name: str | None = None,
        secret: str = "s3cret",
        become_password: str | None = None,
        **fields: Any,
    ) -> Credential:
        fields.setdefault("kind", "password")
        fields.setdefault("username", "deploy")
        return self._save(
            Credential(
                name=name or f"cred{next(_numbers)}",
                secret_encrypted=encrypt(secret),
                become_password_encrypted=(
                    encrypt(become_password) if become_password else None
                ),
                **fields,
            )
        )

    def playbook(
        self,
        name: str | None = None,
        files: dict[str, str] | None = None,
        entry: str = "site.yml",
    ) -> Playbook:
        files = files if files is not None else {entry: PING_PLAYBOOK}
        playbook = Playbook(name=name or f"playbook{next(_numbers)}", entry=entry)
        playbook.files = [PlaybookFile(name=k, content=v) for k, v in files.items()]
        return self._save(playbook)

    def job(self, name: str | None = None, hosts=None, groups=(), **fields: Any) -> Job:
        if "playbook" in fields or fields.get("kind") == "playbook":
            fields["kind"] = "playbook"
            if fields.get("playbook") is None:
                fields["playbook"] = self.playbook()
        fields.setdefault("kind", "adhoc")
        if fields["kind"] == "adhoc":
            fields.setdefault("module", "ping")
        fields.setdefault("extra_vars", {})
        job = Job(name=name or f"job{next(_numbers)}", **fields)
        job.hosts = list(hosts) if hosts is not None else [self.host()]
        job.groups = list(groups)
        return self._save(job)
