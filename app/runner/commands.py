"""What a job would have its hosts execute, read out of its arguments or its
playbook, for the command guard (app.command_guard) to check before it runs.

From a playbook project every command-like task (shell, command, raw, script,
short or as `ansible.builtin.` / `ansible.legacy.` names, also through
`action:` and `local_action:`) of every file is found, whatever includes it:
plays' tasks, pre_tasks, post_tasks and handlers, blocks with their rescue and
always, role task and handler files, files pulled in by include_tasks or
import_tasks. A task's command is read in each form Ansible takes it: free-form,
`cmd:`, `argv:` (joined with spaces), `_raw_params`, `args:` beside the module,
and the text it feeds on `stdin:`. A script task also has the script's text
checked when the script is a file of the project.

The same walk finds what reaches the machine Playdeck runs on: `hosts:` naming
localhost, `delegate_to:` it, `local_action:`, `connection: local` and the
variable `ansible_connection: local` on a play, block or task or set by set_fact
or add_host (as a mapping or as key=value words), the connection named in any
way Ansible takes it (`ansible.builtin.local` too).

Templating is not evaluated. `{{ name }}` of a variable given as an extra
variable (the job's, or the launch's) is replaced by its value, and a task
looping over a literal list is read once per item with `{{ item }}` replaced;
anything else (Jinja expressions, vars files, facts, registered results) is
checked as written.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

# Modules whose arguments are a command for the host to execute.
COMMAND_MODULES = frozenset({"shell", "command", "raw", "script"})
# Modules whose arguments set a host's variables, its connection among them.
VARIABLE_MODULES = frozenset({"set_fact", "add_host"})
_COLLECTIONS = ("ansible.builtin.", "ansible.legacy.")
# Task lists of a play, and of a block.
PLAY_TASK_LISTS = ("pre_tasks", "tasks", "post_tasks", "handlers")
BLOCK_LISTS = ("block", "rescue", "always")
# Names Ansible itself takes for the machine it runs on (its implicit localhost).
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "::1", "ip6-localhost"})
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# `ansible_connection=local` among a module's free-form key=value words.
_KEY_VALUE_CONNECTION = re.compile(r"(?:^|\s)ansible_connection=(['\"]?)([^\s'\"]+)\1")


@dataclass(frozen=True)
class Command:
    """One text a host would execute, and where it was found."""

    where: str
    text: str
    # The job's field it comes from, for a form to show a refusal under.
    field: str = "playbook"


@dataclass(frozen=True)
class LocalTarget:
    """Something of a job that makes Ansible act on the Playdeck machine itself."""

    where: str
    what: str
    field: str = "playbook"


@dataclass
class Found:
    commands: list[Command] = field(default_factory=list)
    local: list[LocalTarget] = field(default_factory=list)


def module_name(key: str) -> str:
    """`ansible.builtin.shell` -> `shell`; other names as they are."""
    for prefix in _COLLECTIONS:
        if key.startswith(prefix):
            return key.removeprefix(prefix)
    return key


def adhoc_commands(
    module: str, args: str, variables: Mapping[str, Any] | None = None
) -> list[Command]:
    """An ad-hoc job's arguments, whatever its module: they are what it runs."""
    if not args:
        return []
    return [
        Command("the arguments", text, "args")
        for text in _rendered(args, variables or {})
    ]


def is_local_connection(value: Any) -> bool:
    """Whether a connection plugin's name is Ansible's local one, however it is
    spelled: `local`, `LOCAL`, `ansible.builtin.local`, `ansible.legacy.local`."""
    return module_name(str(value or "").strip().lower()) == "local"


def extra_var_targets(variables: Mapping[str, Any], field: str) -> list[LocalTarget]:
    """Extra variables that point every host at the Playdeck machine."""
    found = []
    if is_local_connection(variables.get("ansible_connection")):
        found.append(
            LocalTarget("the extra variables", "ansible_connection: local", field)
        )
    host = variables.get("ansible_host")
    if isinstance(host, str) and is_local_name(host):
        found.append(LocalTarget("the extra variables", f"ansible_host: {host}", field))
    return found


def scan_project(
    files: Mapping[str, str], variables: Mapping[str, Any] | None = None
) -> Found:
    """Every command and every reach for the local machine in a playbook project."""
    found = Found()
    scan = _Scan(files, variables or {}, found)
    for name in sorted(files):
        data = load_yaml(files[name])
        if isinstance(data, list):
            scan.items(name, data)
    return found


def is_local_name(name: str) -> bool:
    """Whether a host name or address is the machine this process runs on."""
    name = name.strip().strip("[]").lower()
    if name in LOCAL_NAMES or name.startswith("127."):
        return True
    return name == socket.gethostname().lower()


def local_pattern(pattern: str) -> str | None:
    """The part of a play's `hosts:` pattern that names the local machine, or None.

    Patterns are lists (`web,localhost`, `all:localhost`) with `!` excluding and
    `&` intersecting; an excluded name targets nothing.
    """
    if pattern.strip() in ("::1", "[::1]"):
        return pattern.strip()
    for part in re.split(r"[,:]", pattern):
        part = part.strip()
        if part and not part.startswith("!") and is_local_name(part.lstrip("&")):
            return part.lstrip("&")
    return None


# libyaml's parser when PyYAML has it: several times faster on large projects.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[misc, valid-type]
    """YAML as Ansible reads it: its own tags (!unsafe, !vault) taken as their
    plain value, so that no file escapes the scan by using one."""


def _untagged(loader: Any, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_Loader.add_multi_constructor("!", _untagged)


def load_yaml(text: str) -> Any:
    """A file's YAML, or None when it is not YAML (a script, a template)."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError:
        return None


def _rendered(text: str, variables: Mapping[str, Any]) -> list[str]:
    """The text as written, and with known `{{ name }}` replaced when it has any."""
    substituted = _VARIABLE.sub(
        lambda match: str(variables[match[1]]) if match[1] in variables else match[0],
        text,
    )
    return [text] if substituted == text else [text, substituted]


class _Scan:
    """One walk over a project's files, adding to `found`."""

    def __init__(
        self, files: Mapping[str, str], variables: Mapping[str, Any], found: Found
    ) -> None:
        self.files = files
        self.variables = variables
        self.found = found

    def items(self, file: str, items: list[Any]) -> None:
        """A file's top-level list: plays (they have `hosts`), or tasks."""
        for index, item in enumerate(items, 1):
            if not isinstance(item, dict):
                continue
            if "hosts" in item or "import_playbook" in item:
                self.play(file, index, item)
            else:
                self.task(file, "task", index, item)

    def play(self, file: str, index: int, play: dict[str, Any]) -> None:
        where = f"{file}, play {_label(play, index)}"
        hosts = play.get("hosts") or ""
        if isinstance(hosts, list):
            hosts = ",".join(str(host) for host in hosts)
        for text in _rendered(str(hosts), self.variables):
            local = local_pattern(text)
            if local is not None:
                self._local(where, f"hosts: {local}")
                break
        self._keywords(where, play)
        for key in PLAY_TASK_LISTS:
            tasks = play.get(key)
            kind = "handler" if key == "handlers" else "task"
            if isinstance(tasks, list):
                for number, task in enumerate(tasks, 1):
                    if isinstance(task, dict):
                        self.task(where, kind, number, task)

    def task(self, parent: str, kind: str, index: int, task: dict[str, Any]) -> None:
        where = f"{parent}, {kind} {_label(task, index)}"
        self._keywords(where, task)
        if any(key in task for key in BLOCK_LISTS):
            for key in BLOCK_LISTS:
                inner = task.get(key)
                if isinstance(inner, list):
                    for number, child in enumerate(inner, 1):
                        if isinstance(child, dict):
                            self.task(where, kind, number, child)
            return

        for module, value in _invocations(task):
            if module in VARIABLE_MODULES:
                self._connection_var(where, value)
            if module in COMMAND_MODULES:
                for text in _command_texts(value, task.get("args")):
                    self._command(where, text, task)
                if module == "script":
                    self._script(where, value, task.get("args"))

    def _keywords(self, where: str, node: dict[str, Any]) -> None:
        """Play, block and task keywords that move the work to this machine."""
        delegate = node.get("delegate_to")
        if isinstance(delegate, str):
            for text in _rendered(delegate, self.variables):
                if is_local_name(text):
                    self._local(where, f"delegate_to: {text}")
                    break
        if "local_action" in node:
            self._local(where, "local_action")
        if is_local_connection(node.get("connection")):
            self._local(where, "connection: local")
        self._connection_var(where, node.get("vars"))

    def _connection_var(self, where: str, variables: Any) -> None:
        """`ansible_connection: local` in a mapping, or in `key=value` words."""
        if isinstance(variables, str):
            words = _KEY_VALUE_CONNECTION.search(variables)
            value = words[2] if words else ""
        elif isinstance(variables, dict):
            value = variables.get("ansible_connection")
        else:
            return
        if is_local_connection(value):
            self._local(where, "ansible_connection: local")

    def _local(self, where: str, what: str) -> None:
        self.found.local.append(LocalTarget(where, what))

    def _command(self, where: str, text: str, task: dict[str, Any]) -> None:
        items = _loop_items(task)
        texts = _rendered(text, self.variables)
        for item in items:
            texts += _rendered(text, {**self.variables, "item": item})
        for each in dict.fromkeys(texts):  # in order, once each
            self.found.commands.append(Command(where, each))

    def _script(self, where: str, value: Any, args: Any) -> None:
        """The text of a script the task runs, when the project holds it."""
        for text in _command_texts(value, args):
            words = text.split()
            if not words:
                continue
            path = words[0]
            for name, content in self.files.items():
                if name == path or name.endswith(f"files/{path}"):
                    self.found.commands.append(
                        Command(f"{name}, the script {where} runs", content)
                    )


def _label(node: dict[str, Any], index: int) -> str:
    name = node.get("name")
    return f"“{name}”" if isinstance(name, str) and name else str(index)


def _invocations(task: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(module, its value) of a task: the module key, or `action`/`local_action`."""
    for key, value in task.items():
        if key in ("action", "local_action"):
            yield from _action(value)
        else:
            yield module_name(str(key)), value


def _action(value: Any) -> Iterator[tuple[str, Any]]:
    """`action: shell rm -rf x` or `action: {module: shell, cmd: ...}`."""
    if isinstance(value, str):
        module, _, rest = value.strip().partition(" ")
        yield module_name(module), rest
    elif isinstance(value, dict) and isinstance(value.get("module"), str):
        rest = {key: item for key, item in value.items() if key != "module"}
        yield module_name(value["module"]), rest


def _command_texts(value: Any, args: Any) -> list[str]:
    """Each text of a command task: its command line and what it feeds on stdin."""
    texts = []
    for source in (value, args):
        if isinstance(source, str):
            texts.append(source)
        elif isinstance(source, dict):
            for key in ("cmd", "_raw_params", "free_form", "stdin"):
                if source.get(key) is not None:
                    texts.append(str(source[key]))
            argv = source.get("argv")
            if isinstance(argv, list):
                texts.append(" ".join(str(word) for word in argv))
    return [text for text in texts if text.strip()]


def _loop_items(task: dict[str, Any]) -> list[Any]:
    """The items of a loop written out in the task, which `{{ item }}` takes."""
    for key in ("loop", "with_items", "with_list"):
        items = task.get(key)
        if isinstance(items, list):
            return [item for item in items if isinstance(item, str | int | float)]
    return []
