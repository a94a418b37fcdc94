"""Upload jobs: files stored with a job, copied for real with Ansible's copy
module to a folder on localhost, with their owner and mode; limits and hostile
names refused with field errors, on the form and in the API."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import pwd
import stat

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry, Job, Run, RunStatus, Upload, UploadFile
from app.services import ServiceError
from app.services import jobs as job_service
from app.services import runs as run_service
from app.services.uploads import NewFile, UploadInput

from helpers import Api, csrf_token, login, with_settings

pytestmark = pytest.mark.all_databases

ME = pwd.getpwuid(os.getuid()).pw_name


def _form(client, host, dest, files=(), **changes):
    """The job form of an upload job; `files` are (name, bytes) pairs."""
    data = {
        "csrf_token": csrf_token(client),
        "name": "ship-config",
        "kind": "upload",
        "module": "",
        "args": "",
        "playbook": "",
        "hosts": [str(host.id)],
        "credential": "",
        "forks": "5",
        "timeout": "",
        "extra_vars": "",
        "upload_dest": str(dest),
        "upload_owner": ME,
        "upload_mode": "0640",
        "upload_files": [(io.BytesIO(content), name) for name, content in files],
    }
    return data | changes


def _post(client, url, data):
    return client.post(url, data=data, content_type="multipart/form-data")


def _job(name: str = "ship-config") -> Job | None:
    return db.session.scalar(select(Job).where(Job.name == name))


def _upload_job(make, dest, files, **fields) -> Job:
    return job_service.create_job(
        name=fields.pop("name", "ship"),
        kind="upload",
        host_ids=[make.host().id],
        upload=UploadInput(
            dest=str(dest),
            owner=fields.pop("owner", ""),
            mode=fields.pop("mode", "0644"),
            files=tuple(NewFile(name, content) for name, content in files),
        ),
        **fields,
    )


def test_an_upload_job_copies_its_files_to_the_hosts(
    client, make, run_worker, tmp_path
):
    host = make.host("web1")
    dest = tmp_path / "srv" / "conf"  # missing: the copy makes it
    files = [("app.conf", b"colour = teal\n"), ("motd.txt", b"hello\n" * 100)]

    created = _post(client, "/jobs/new", _form(client, host, dest, files))
    job = _job()
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    launched = client.post(
        f"/jobs/{job.id}/launch", data={"csrf_token": csrf_token(client)}
    )
    run = db.session.scalars(select(Run)).one()
    run_worker()

    assert created.status_code == 302, created.get_data(as_text=True)
    assert '<tr data-file="app.conf"><td><code>app.conf</code></td>' in page
    assert 'data-size="600">600 Bytes' in page
    assert f"<code>{dest}/</code>" in page
    assert "Module" not in page and "Arguments" not in page
    assert launched.headers["Location"] == f"/runs/{run.id}"
    assert run.status == RunStatus.SUCCESSFUL, run.error
    assert run.stats["web1"]["changed"] == 2
    for name, content in files:
        copied = dest / name
        assert copied.read_bytes() == content
        info = copied.stat()
        assert stat.S_IMODE(info.st_mode) == 0o640
        assert info.st_uid == os.getuid()
    shown = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert 'data-host="web1"' in shown
    assert "copy 2 files to" in shown
    # The scratch folder, with the files written for the run, is gone.
    assert list((client.application.config["PLAYDECK"].data_dir).iterdir()) == []


def test_a_name_that_looks_like_a_template_is_copied_as_written(
    make, run_worker, tmp_path
):
    name = "{{ lookup('pipe', 'touch PWNED') }}.txt"
    job = _upload_job(make, tmp_path, [(name, b"x")])

    run = run_service.launch(job)
    run_worker()

    assert run.status == RunStatus.SUCCESSFUL, run.error
    assert (tmp_path / name).read_bytes() == b"x"
    assert not any(path.name == "PWNED" for path in tmp_path.rglob("*"))


def test_an_oversized_file_is_a_field_error(app, client, make, tmp_path):
    with_settings(app, upload_max_file=1024)
    host = make.host()

    response = _post(
        client,
        "/jobs/new",
        _form(client, host, tmp_path, [("small.txt", b"x"), ("big.bin", b"x" * 2048)]),
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "big.bin is 2.0 KiB; a file may be at most 1.0 KiB." in page
    assert "Choose the files again" in page
    assert _job() is None


def test_the_files_of_a_job_are_limited_together(app, make, tmp_path):
    with_settings(app, upload_max_total=1500)

    with pytest.raises(ServiceError) as refused:
        _upload_job(make, tmp_path, [("a", b"x" * 1000), ("b", b"y" * 1000)])

    assert refused.value.fields["files"] == (
        "The files come to 2.0 KiB; a job's files may be at most 1.5 KiB together."
    )


HOSTILE = {
    "../../etc/passwd": "may not hold / or \\",
    "a/b": "may not hold / or \\",
    "a\\b": "may not hold / or \\",
    "evil\x00.txt": "evil\\x00.txt: a file name may not hold control characters",
    "line\nbreak": "may not hold control characters",
    "\u202etxt.exe": "\\u202etxt.exe: a file name may not hold control characters",
    "-rf": "-rf: a file name may not start with - or ~.",
    "~root": "may not start with - or ~.",
    ".bashrc": ".bashrc: a file name may not start with a dot.",
    "..": "may not start with a dot",
    "／etc／passwd": "/etc/passwd: a file name may not hold / or \\",  # full width
    " padded": "may not start or end with a space",
    "x" * 256: "a file name has at most 255 bytes",
    "": "A file needs a name.",
}


@pytest.mark.parametrize("name, message", HOSTILE.items(), ids=range(len(HOSTILE)))
def test_a_hostile_file_name_is_refused_in_the_api(app, make, tmp_path, name, message):
    api = Api(app, "operator")
    content = base64.b64encode(b"root:x:0:0::/root:/bin/sh\n").decode()

    response = api.post(
        "/jobs",
        {
            "name": "evil",
            "kind": "upload",
            "hosts": [make.host().id],
            "dest": str(tmp_path),
            "file_contents": [{"name": name, "content": content}],
        },
    )

    assert response.status_code == 422
    assert message in response.get_json()["fields"]["files"]
    assert db.session.scalars(select(UploadFile)).all() == []


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b", "-rf", ".bashrc"])
def test_a_hostile_file_name_is_refused_on_the_form(client, make, tmp_path, name):
    response = _post(
        client, "/jobs/new", _form(client, make.host(), tmp_path, [(name, b"x")])
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "a file name may not" in page
    assert _job() is None


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"upload_mode": "644x"}, "upload_mode", "Give the mode in octal"),
        ({"upload_mode": "99"}, "upload_mode", "Give the mode in octal"),
        ({"upload_dest": "relative/dir"}, "upload_dest", "Give an absolute path"),
        ({"upload_dest": ""}, "upload_dest", "Give the folder on the hosts"),
        ({"upload_owner": "root; rm"}, "upload_owner", "A user name on the hosts"),
        ({"extra_vars": "a: 1"}, "extra_vars", "An upload job runs only its copy"),
        ({"upload_files": []}, "upload_files", "Add at least one file to copy."),
    ],
)
def test_bad_upload_fields_are_field_errors(
    client, make, tmp_path, changes, field, message
):
    data = _form(client, make.host(), tmp_path, [("a.txt", b"a")]) | changes

    response = _post(client, "/jobs/new", data)

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    # Under its own input: the error follows the field's label and input.
    assert page.index(f'name="{field}"') < page.index(message)
    assert _job() is None


def test_a_mode_of_three_digits_is_kept_as_four(make, tmp_path):
    job = _upload_job(make, tmp_path, [("a", b"a")], mode="755")

    assert job.upload.mode == "0755"


def test_editing_keeps_replaces_or_removes_files(client, make, tmp_path):
    job = _upload_job(make, tmp_path, [("a.txt", b"one"), ("b.txt", b"two")])
    host = job.hosts[0]
    url = f"/jobs/{job.id}/edit"

    form = client.get(url).get_data(as_text=True)
    kept = _post(client, url, _form(client, host, tmp_path, name="ship"))
    replaced = _post(
        client, url, _form(client, host, tmp_path, [("a.txt", b"ONE!")], name="ship")
    )
    removed = _post(
        client, url, _form(client, host, tmp_path, name="ship", upload_remove=["b.txt"])
    )

    assert 'value="b.txt"' in form and "b.txt (3 Bytes)" not in form
    assert kept.status_code == replaced.status_code == removed.status_code == 302
    db.session.expire_all()
    [file] = job.upload.files
    assert (file.name, file.content, file.size) == ("a.txt", b"ONE!", 4)
    assert file.sha256 == hashlib.sha256(b"ONE!").hexdigest()
    changes = [
        entry.changes
        for entry in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "update")
        )
    ]
    assert [list(change) for change in changes] == [["upload"]] * 3
    # The owner was "" at first: the form filled in ME.
    first, second, third = (change["upload"] for change in changes)
    assert (first[0]["owner"], first[1]["owner"]) == ("", ME)
    assert first[0]["files"] == first[1]["files"]
    assert second[1]["files"][0].startswith("a.txt (4 B, sha256 ")
    assert len(third[0]["files"]) == 2 and len(third[1]["files"]) == 1


def test_an_upload_job_through_the_api(app, make, run_worker, tmp_path):
    api = Api(app, "operator")
    host = make.host("web1")

    def encoded(data: bytes) -> str:
        return base64.b64encode(data).decode()

    created = api.post(
        "/jobs",
        {
            "name": "ship",
            "kind": "upload",
            "hosts": [host.id],
            "dest": str(tmp_path / "out"),
            "mode": "0600",
            "file_contents": [{"name": "key.pub", "content": encoded(b"ssh-ed25519")}],
        },
    )
    body = created.get_json()
    patched = api.patch(
        f"/jobs/{body['id']}",
        {"file_contents": [{"name": "other.pub", "content": encoded(b"more")}]},
    )
    renamed = api.patch(f"/jobs/{body['id']}", {"name": "ship-keys"})
    bad = api.patch(
        f"/jobs/{body['id']}",
        {"file_contents": [{"name": "x", "content": "not base64!"}]},
    )
    launched = api.post(f"/jobs/{body['id']}/launch", {"extra_vars": {"a": 1}})
    run = api.post(f"/jobs/{body['id']}/launch")
    run_worker()

    assert created.status_code == 201, body
    assert body["files"] == [
        {
            "name": "key.pub",
            "size": 11,
            "sha256": hashlib.sha256(b"ssh-ed25519").hexdigest(),
        }
    ]
    assert "file_contents" not in body
    assert [f["name"] for f in patched.get_json()["files"]] == ["other.pub"]
    assert [f["name"] for f in renamed.get_json()["files"]] == ["other.pub"]
    assert bad.status_code == 422
    assert bad.get_json()["fields"] == {"file_contents.0.content": "Not base64."}
    assert launched.status_code == 422
    assert set(launched.get_json()["fields"]) == {"extra_vars"}
    assert run.status_code == 202
    copied = tmp_path / "out" / "other.pub"
    assert copied.read_bytes() == b"more"
    assert stat.S_IMODE(copied.stat().st_mode) == 0o600


def test_viewers_see_the_files_not_their_content(app, make, tmp_path):
    job = _upload_job(make, tmp_path, [("secret.env", b"TOKEN=abc123")])
    viewer = app.test_client()
    login(viewer, "viewer")

    page = viewer.get(f"/jobs/{job.id}").get_data(as_text=True)
    answer = Api(app, "viewer").get(f"/jobs/{job.id}").get_json()

    assert "secret.env" in page and "abc123" not in page
    assert "▶ Run" not in page
    assert answer["files"][0]["name"] == "secret.env"
    assert "abc123" not in str(answer)


def test_changing_the_kind_drops_the_files(make, tmp_path):
    job = _upload_job(make, tmp_path, [("a.txt", b"a")])

    job_service.update_job(
        job,
        name=job.name,
        kind="adhoc",
        module="ping",
        host_ids=[host.id for host in job.hosts],
    )

    assert db.session.scalars(select(Upload)).all() == []
    assert db.session.scalars(select(UploadFile)).all() == []
    assert job.description == "ping"


def test_files_are_for_upload_jobs_only(app, make):
    api = Api(app, "operator")
    job = make.job(module="ping")

    response = api.patch(
        f"/jobs/{job.id}", {"file_contents": [{"name": "a", "content": "YQ=="}]}
    )

    assert response.status_code == 422
    assert response.get_json()["fields"] == {
        "file_contents": "Only an upload job has files."
    }


def test_the_settings_page_says_the_limits(app, client):
    with_settings(app, upload_max_file=2 * 2**20)

    page = client.get("/settings/").get_data(as_text=True)

    assert "at most 2.0 MiB (<code>PLAYDECK_UPLOAD_MAX_FILE</code>)" in page
