"""An upload job's run: its files written into the run's scratch folder, and a
playbook of Ansible's copy module, one task per file, that copies them.

Every value a person gave (file names, destination, owner, mode) reaches the
playbook tagged `!unsafe`, so Ansible never reads it as a template: a file named
`{{ lookup('pipe', 'id') }}` is copied under that very name and runs nothing.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from app.runner.spec import UploadSpec

ENTRY = "upload.yml"


class _Unsafe(str):
    """A string Ansible must take as it is (YAML tag `!unsafe`)."""


def _represent_unsafe(dumper: yaml.SafeDumper, value: _Unsafe) -> yaml.Node:
    return dumper.represent_scalar("!unsafe", str(value), style='"')


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Unsafe, _represent_unsafe)


def write_upload(folder: Path, upload: UploadSpec) -> str:
    """Write the files and the copy playbook under `folder`; returns the entry
    file for ansible-playbook, relative to the project folder."""
    project = folder / "project"
    files = folder / "uploads"
    project.mkdir()
    files.mkdir(mode=0o700)

    tasks = []
    for name, content in upload.files:
        source = files / name
        # The service refused every name holding a folder; this is the fence.
        if source.parent != files:
            raise ValueError(f"file name {name!r} leaves the upload folder")
        source.write_bytes(content)
        copy = {
            "src": _Unsafe(str(source)),
            # A destination ending in / is a folder, made when missing; the
            # file keeps its name in it.
            "dest": _Unsafe(upload.dest.rstrip("/") + "/"),
            "mode": _Unsafe(upload.mode),
        }
        if upload.owner:
            copy["owner"] = _Unsafe(upload.owner)
        tasks.append(
            {
                "name": _Unsafe(f"copy {name}"),
                "ansible.builtin.copy": copy,
            }
        )

    play = {"name": "upload", "hosts": "all", "gather_facts": False, "tasks": tasks}
    (project / ENTRY).write_text(yaml.dump([play], Dumper=_Dumper, sort_keys=False))
    return ENTRY
