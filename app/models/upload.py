"""Upload jobs: files stored in the database that a job copies to its hosts.

The files are rows, not files on the web machine's disk, because the web process
and the workers may run on different machines; a worker writes them into the
run's scratch folder for the run's lifetime only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app.extensions import db
from app.models.job import Job
from app.models.timeutil import utcnow


class Upload(db.Model):
    """Where an upload job copies its files, and as whom and with what mode."""

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(
        ForeignKey("job.id", ondelete="CASCADE"), unique=True
    )
    # An absolute folder on the targets; the files keep their names in it.
    dest: Mapped[str] = mapped_column(Text)
    # The files' owner on the targets; "" leaves it to the connecting user.
    owner: Mapped[str] = mapped_column(String(64), default="")
    # Octal, four digits: 0644.
    mode: Mapped[str] = mapped_column(String(4), default="0644")

    job: Mapped[Job] = relationship(
        backref=backref("upload", uselist=False, cascade="all, delete-orphan")
    )
    files: Mapped[list[UploadFile]] = relationship(
        back_populates="upload",
        cascade="all, delete-orphan",
        order_by="UploadFile.name",
    )

    @property
    def size(self) -> int:
        return sum(file.size for file in self.files)

    def __repr__(self) -> str:
        return f"<Upload of job {self.job_id} to {self.dest}>"


class UploadFile(db.Model):
    __tablename__ = "upload_file"
    __table_args__ = (UniqueConstraint("upload_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("upload.id", ondelete="CASCADE"))
    # A bare file name, checked (see app.services.uploads): no folder, no dot or
    # dash first, no control character, Unicode NFKC.
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    # Loaded only when asked for: pages list files without reading them.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    upload: Mapped[Upload] = relationship(back_populates="files")
