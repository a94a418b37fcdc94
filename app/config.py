"""Every setting of Playdeck: its environment variable, default and unit.

Settings are read once, when the app or the worker starts. Nothing else in the code
reads the environment.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent.parent

# Modules an ad-hoc job may use. Anything else is refused by the form and the API.
ADHOC_MODULES = (
    "command",
    "shell",
    "ping",
    "setup",
    "copy",
    "file",
    "service",
    "package",
    "script",
    "raw",
)


def _env(name: str, default: str) -> str:
    return os.environ.get(f"PLAYDECK_{name}", default)


def _read_or_create_secret(path: Path) -> str:
    """A secret key kept in the instance folder, made once on first start."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _zone(name: str) -> str:
    """An IANA zone name that exists here; a typo stops the start, not a page."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RuntimeError(f"PLAYDECK_TIMEZONE: unknown time zone {name!r}") from exc
    return name


@dataclass(frozen=True)
class Settings:
    # Folder for the SQLite file, the generated secret key and the embedded Redis.
    instance_dir: Path
    # SQLAlchemy URL of the database.
    database_url: str
    # Redis URL; unix:// or redis://. Unset means the launcher's embedded server.
    redis_url: str
    # True when no PLAYDECK_REDIS_URL was given: the launcher starts Redis itself.
    redis_embedded: bool
    # Signs sessions and CSRF tokens, and derives the key that encrypts credentials.
    secret_key: str
    # Scratch folders of runs (private data dirs) are made under this folder.
    data_dir: Path
    # "production" refuses to start without PLAYDECK_SECRET_KEY.
    env: str = "development"
    # Name of the RQ queue that carries runs.
    queue_name: str = "playdeck-runs"
    # Seconds a run may last when its job gives no timeout.
    default_timeout: int = 3600
    # Seconds ansible-playbook gets to stop after SIGTERM before the rest is killed.
    stop_grace: float = 5.0
    # Seconds between two checks of a run's cancel flag and deadline.
    poll_interval: float = 0.2
    # Events are written when this many are waiting ...
    event_batch_size: int = 200
    # ... or when the oldest waiting one is this many seconds old.
    event_batch_seconds: float = 0.2
    # Lines a run page shows at once; older ones come on demand.
    log_window: int = 2000
    # Rows on one page of a list.
    page_size: int = 25
    # Check SSH host keys (off by default: hosts are added by the team itself).
    host_key_checking: bool = False
    # Reverse proxies in front of the web process whose X-Forwarded-For is
    # trusted for the client's address; 0 when clients connect directly.
    proxy_hops: int = 0
    # Seconds between two passes of the reconciler and the retention purge.
    reconcile_interval: float = 5.0
    # Seconds between two heartbeats of a running run ...
    heartbeat_interval: float = 2.0
    # ... and seconds a heartbeat lasts: a running run silent for this long (and
    # started at least this long ago) has lost its worker.
    heartbeat_ttl: int = 10
    # Days finished runs and their logs are kept; 0 keeps them whatever their age.
    retention_days: int = 90
    # Finished runs kept per job, newest first; 0 keeps them all.
    retention_runs_per_job: int = 500
    # Rows the purge deletes with one statement, committing between two.
    purge_batch: int = 1000
    # IANA time zone a new schedule starts in (each schedule keeps its own zone),
    # and the pages' for users who chose none.
    timezone: str = "UTC"
    adhoc_modules: tuple[str, ...] = field(default=ADHOC_MODULES)
    # Bytes one file of an upload job may hold ...
    upload_max_file: int = 10 * 2**20
    # ... and all the files of one upload job together; a request bigger than
    # this (plus a margin for base64 and the form) is refused whole, with 413.
    upload_max_total: int = 50 * 2**20
    # Files one upload job may hold.
    upload_max_files: int = 100

    @classmethod
    def from_env(cls) -> Settings:
        instance_dir = Path(_env("INSTANCE_DIR", str(ROOT / "instance"))).resolve()
        env = _env("ENV", "development")

        secret_key = _env("SECRET_KEY", "")
        if not secret_key:
            if env == "production":
                raise RuntimeError("PLAYDECK_SECRET_KEY must be set in production")
            secret_key = _read_or_create_secret(instance_dir / "secret_key")

        redis_url = _env("REDIS_URL", "")
        return cls(
            instance_dir=instance_dir,
            database_url=_env(
                "DATABASE_URL", f"sqlite:///{instance_dir / 'playdeck.sqlite3'}"
            ),
            redis_url=redis_url or f"unix://{instance_dir / 'redis.sock'}",
            redis_embedded=not redis_url,
            secret_key=secret_key,
            data_dir=Path(_env("DATA_DIR", str(instance_dir / "runs"))).resolve(),
            env=env,
            default_timeout=int(_env("DEFAULT_TIMEOUT", "3600")),
            stop_grace=float(_env("STOP_GRACE", "5")),
            host_key_checking=_env("HOST_KEY_CHECKING", "false").lower()
            in ("1", "true", "yes"),
            timezone=_zone(_env("TIMEZONE", "UTC")),
            proxy_hops=int(_env("PROXY_HOPS", "0")),
            reconcile_interval=float(_env("RECONCILE_INTERVAL", "5")),
            retention_days=int(_env("RETENTION_DAYS", "90")),
            retention_runs_per_job=int(_env("RETENTION_RUNS_PER_JOB", "500")),
            upload_max_file=int(_env("UPLOAD_MAX_FILE", str(10 * 2**20))),
            upload_max_total=int(_env("UPLOAD_MAX_TOTAL", str(50 * 2**20))),
        )

    @property
    def max_request_bytes(self) -> int:
        """The largest request body taken: every upload file in base64 (4 bytes
        for 3), and a megabyte for the rest of the form or the JSON."""
        return self.upload_max_total * 4 // 3 + 2**20
