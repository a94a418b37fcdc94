"""A real OpenSSH server on 127.0.0.1 for the SSH paths, started per test session.

It accepts the current user with a key made for the session, and nothing else.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"


@dataclass
class SshServer:
    port: int
    user: str
    private_key: str
    process: subprocess.Popen


def available() -> str | None:
    """None when an sshd can run here, else what is missing."""
    if not Path(SSHD).exists():
        return f"{SSHD} is missing (Debian package openssh-server)"
    if not shutil.which("ssh-keygen") or not shutil.which("ssh"):
        return "ssh and ssh-keygen are missing (Debian package openssh-client)"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(folder: Path) -> SshServer:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    host_key = folder / "host_ed25519"
    client_key = folder / "client_ed25519"
    for key in (host_key, client_key):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
            check=True,
        )
    authorized = folder / "authorized_keys"
    authorized.write_text((folder / "client_ed25519.pub").read_text())
    authorized.chmod(0o600)
    if os.geteuid() == 0:
        # sshd refuses to start without its privilege separation folder.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)

    port = free_port()
    config = folder / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {host_key}",
                f"AuthorizedKeysFile {authorized}",
                f"PidFile {folder / 'sshd.pid'}",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "StrictModes no",
                "UsePAM no",
                f"AllowUsers {getpass.getuser()}",
                "",
            ]
        )
    )
    with open(folder / "sshd.log", "wb") as log:
        process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    _wait_listening(port, process, folder / "sshd.log")
    return SshServer(port, getpass.getuser(), client_key.read_text(), process)


def _wait_listening(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited: {log.read_text()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("sshd did not listen within 10 s")


def stop(server: SshServer) -> None:
    server.process.terminate()
    server.process.wait(timeout=10)
