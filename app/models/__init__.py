"""The database models, one module per concept."""

from app.models.audit import AuditAction, AuditEntry, AuditVia
from app.models.credential import Credential, CredentialKind
from app.models.event import Event
from app.models.guard import BuiltinCheck, GuardAction, GuardCheck, GuardRule
from app.models.host import Connection, Group, Host
from app.models.job import Job, JobKind, ParameterType
from app.models.playbook import Playbook, PlaybookFile
from app.models.run import Run, RunStatus, RunTrigger
from app.models.run_host import HostOutcome, RunHost
from app.models.schedule import (
    Firing,
    FiringOutcome,
    IntervalUnit,
    Overlap,
    Schedule,
    ScheduleKind,
)
from app.models.timeutil import utcnow
from app.models.token import ApiToken
from app.models.upload import Upload, UploadFile
from app.models.user import Role, User

__all__ = [
    "ApiToken",
    "AuditAction",
    "AuditEntry",
    "AuditVia",
    "BuiltinCheck",
    "Connection",
    "Credential",
    "CredentialKind",
    "Event",
    "Firing",
    "FiringOutcome",
    "Group",
    "GuardAction",
    "GuardCheck",
    "GuardRule",
    "Host",
    "HostOutcome",
    "IntervalUnit",
    "Job",
    "JobKind",
    "Overlap",
    "ParameterType",
    "Playbook",
    "PlaybookFile",
    "Role",
    "Run",
    "RunHost",
    "RunStatus",
    "RunTrigger",
    "Schedule",
    "ScheduleKind",
    "Upload",
    "UploadFile",
    "User",
    "utcnow",
]
