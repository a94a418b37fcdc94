"""The scratch folder of one run: ansible-runner's private data dir.

It holds the project files, the inventory, the credential files and ansible's own
temporary and control-path folders, and is removed when the run ends, so that no
secret outlives its run on the worker's disk.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.processes import MARKER_SUFFIX
from app.runner.spec import CredentialSpec, RunSpec

# The names of Playdeck's settings in the environment (see app.config).
SETTINGS_PREFIX = "PLAYDECK_"


@dataclass(frozen=True)
class Scratch:
    root: Path
    # SSH control sockets: a unix socket path is limited to 108 bytes, too short
    # for a folder under a deep data dir, so these live in a short one of their own.
    control: Path


@contextmanager
def scratch_folder(parent: Path, run_id: int) -> Iterator[Scratch]:
    parent.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=_prefix(run_id), dir=parent))
    control = Path(tempfile.mkdtemp(prefix="pd-cp-"))
    try:
        yield Scratch(root, control)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(control, ignore_errors=True)


def remove_scratch(parent: Path, run_id: int) -> int:
    """Remove the scratch folders a run left under `parent`; returns how many.

    A work-horse killed outright (out of memory, SIGKILL) never reaches the
    clean-up of `scratch_folder`, and its folder holds the run's credential.
    """
    found = list(parent.glob(_prefix(run_id) + "*"))
    for folder in found:
        shutil.rmtree(folder, ignore_errors=True)
    return len(found)


def _prefix(run_id: int) -> str:
    return f"run{run_id}-"


def inventory(spec: RunSpec) -> dict[str, Any]:
    """An Ansible inventory of the run's hosts and the groups they belong to."""
    hosts: dict[str, dict[str, Any]] = {}
    children: dict[str, dict[str, Any]] = {}
    for host in spec.hosts:
        hosts[host.name] = _host_vars(host)
        for group in host.groups:
            entry = children.setdefault(
                group, {"hosts": {}, "vars": spec.group_vars.get(group, {})}
            )
            entry["hosts"][host.name] = {}
    return {"all": {"hosts": hosts, "children": children}}


def _host_vars(host) -> dict[str, Any]:
    variables: dict[str, Any] = {
        "ansible_host": host.address,
        "ansible_port": host.port,
        "ansible_connection": host.connection,
    }
    if host.connection == "local":
        # The worker's own interpreter has what modules need; discovery on these
        # machines may pick one that does not exist.
        variables["ansible_python_interpreter"] = sys.executable
    variables.update(host.vars)
    return variables


def write_secrets(
    folder: Path,
    credential: CredentialSpec | None,
    parameters: dict[str, Any] | None = None,
) -> list[str]:
    """Write the credential and the parameters' values as files readable by
    this user only.

    Returns the extra command-line arguments that point ansible at them. The vars
    files are passed with `-e @file`, so no secret appears on a command line;
    the parameters' come after the credential's and win over them.
    """
    if credential is None and not parameters:
        return []
    secrets_dir = folder / "secrets"
    secrets_dir.mkdir(mode=0o700)
    arguments = []
    if credential is not None:
        arguments += _write_credential(secrets_dir, credential)
    if parameters:
        values_file = secrets_dir / "parameters.json"
        _write_private(values_file, json.dumps(parameters))
        arguments += ["-e", f"@{values_file}"]
    return arguments


def _write_credential(secrets_dir: Path, credential: CredentialSpec) -> list[str]:
    variables: dict[str, Any] = {}
    if credential.username:
        variables["ansible_user"] = credential.username
    if credential.kind == "ssh_key":
        key_file = secrets_dir / "ssh_key"
        _write_private(key_file, credential.secret.strip() + "\n")
        variables["ansible_ssh_private_key_file"] = str(key_file)
    else:
        variables["ansible_password"] = credential.secret
    if credential.become_password:
        variables["ansible_become_password"] = credential.become_password

    vars_file = secrets_dir / "vars.json"
    _write_private(vars_file, json.dumps(variables))
    return ["-e", f"@{vars_file}"]


def write_project(folder: Path, files: dict[str, str]) -> Path:
    project = folder / "project"
    project.mkdir()
    for name, text in files.items():
        path = (project / name).resolve()
        if not path.is_relative_to(project.resolve()):
            raise ValueError(f"file name {name!r} leaves the project folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return project


def ansible_environment(
    scratch: Scratch, marker_variable: str, marker: str, host_key_checking: bool
) -> dict[str, str]:
    home = scratch.root / "ansible"
    (home / "tmp").mkdir(parents=True)
    return {
        marker_variable: marker,
        "ANSIBLE_HOME": str(home),
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(scratch.control),
        "ANSIBLE_PERSISTENT_CONTROL_PATH_DIR": str(scratch.control),
        "ANSIBLE_FORCE_COLOR": "1",
        "ANSIBLE_NOCOLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_HOST_KEY_CHECKING": str(host_key_checking),
        "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
        "PATH": _path_with_interpreter_bin(),
    }


def drop_settings(env: dict[str, str], own: Mapping[str, str]) -> None:
    """Take the worker's own Playdeck settings out of ansible's environment.

    ansible-runner hands ansible a copy of the worker's environment, where the
    secret key and the database and Redis URLs (with their passwords) may be set.
    A task printing its environment (`env`, the facts of a local host) would show
    them to everyone who reads the log. The run's own variables, `own`, stay, and
    so do the markers that find its processes again (the launcher's, say, whose
    last sweep at its stop must still reach ansible).
    """
    for name in [name for name in env if name.startswith(SETTINGS_PREFIX)]:
        if name not in own and not name.endswith(MARKER_SUFFIX):
            del env[name]


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _path_with_interpreter_bin() -> str:
    """PATH with the folder of this Python first, where ansible-playbook lives."""
    here = str(Path(sys.executable).parent)
    rest = os.environ.get("PATH", "")
    return here if not rest else f"{here}{os.pathsep}{rest}"
