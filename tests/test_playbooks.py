"""Playbooks: the list, the form with its file blocks, the checks and deletion."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Playbook, PlaybookFile
from app.services import ServiceError
from app.services import playbooks as playbook_service
from app.validation import Invalid

from factories import PING_PLAYBOOK
from helpers import csrf_token, login

BROKEN_YAML = """\
- hosts: all
  tasks:
    - debug: msg=one
   - debug: msg=two
"""


def _form(token: str, files: list[tuple[str, str]], **fields: str) -> dict:
    data = {"csrf_token": token, "name": "deploy", "entry": "site.yml"}
    for index, (name, text) in enumerate(files):
        data[f"files-{index}-name"] = name
        data[f"files-{index}-content"] = text
    data.update(fields)
    return data


def _playbook(name: str) -> Playbook | None:
    return db.session.scalar(select(Playbook).where(Playbook.name == name))


def test_empty_list_says_what_to_do(client):
    page = client.get("/playbooks/").get_data(as_text=True)

    assert "No playbook yet" in page
    assert 'href="/playbooks/new"' in page


def test_list_shows_each_playbook(client, make):
    playbook = make.playbook(
        "deploy-web", files={"main.yml": PING_PLAYBOOK}, entry="main.yml"
    )
    make.job(playbook=playbook)

    page = client.get("/playbooks/").get_data(as_text=True)

    assert f'href="/playbooks/{playbook.id}"' in page
    assert "deploy-web" in page
    assert "<code>main.yml</code>" in page


def test_playbook_page_shows_its_files_and_an_edit_button_to_operators(app, make):
    playbook = make.playbook(
        "deploy-web", files={"main.yml": PING_PLAYBOOK, "vars.yml": "a: 1\n"}
    )
    viewer, operator = app.test_client(), app.test_client()
    login(viewer, "viewer")
    login(operator, "operator")

    seen = viewer.get(f"/playbooks/{playbook.id}").get_data(as_text=True)
    edit = f'href="/playbooks/{playbook.id}/edit"'

    assert '<pre class="vars card" data-file="main.yml">' in seen
    assert "say hello" in seen and "a: 1" in seen
    assert edit not in seen
    assert edit in operator.get(f"/playbooks/{playbook.id}").get_data(as_text=True)


def test_new_form_starts_with_one_file_block(client):
    page = client.get("/playbooks/new").get_data(as_text=True)

    assert 'name="files-0-name"' in page
    assert 'value="site.yml"' in page
    assert 'name="files-1-name"' not in page
    assert 'name="csrf_token"' in page


def test_create_a_playbook_of_two_files(client):
    response = client.post(
        "/playbooks/new",
        data=_form(
            csrf_token(client),
            [
                ("site.yml", PING_PLAYBOOK.replace("\n", "\r\n")),
                ("templates/motd.j2", "Welcome to {{ inventory_hostname }}\n"),
                ("", ""),  # an empty block is ignored
            ],
        ),
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/playbooks/"
    playbook = _playbook("deploy")
    assert playbook.entry == "site.yml"
    files = {file.name: file.content for file in playbook.files}
    assert set(files) == {"site.yml", "templates/motd.j2"}
    assert files["site.yml"] == PING_PLAYBOOK  # line ends of the browser dropped
    assert "Playbook deploy saved." in client.get("/playbooks/").get_data(as_text=True)


def test_add_another_file_shows_one_more_block_and_saves_nothing(client):
    data = _form(csrf_token(client), [("site.yml", PING_PLAYBOOK)], add_file="1")

    response = client.post("/playbooks/new", data=data)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'name="files-1-name"' in page
    assert "hello from" in page  # the text typed so far is kept
    assert _playbook("deploy") is None


def test_edit_renames_and_removes_files(client, make):
    playbook = make.playbook(
        "deploy", files={"site.yml": PING_PLAYBOOK, "old.yml": "- debug: msg=old\n"}
    )

    page = client.get(f"/playbooks/{playbook.id}/edit").get_data(as_text=True)
    assert "old.yml" in page and "hello from" in page

    response = client.post(
        f"/playbooks/{playbook.id}/edit",
        data=_form(
            csrf_token(client),
            [("play.yml", PING_PLAYBOOK), ("", ""), ("site.yml", PING_PLAYBOOK)],
            name="deploy-2",
            entry="play.yml",
        ),
    )

    assert response.status_code == 302
    db.session.expire_all()
    assert playbook.name == "deploy-2"
    assert playbook.entry == "play.yml"
    assert sorted(file.name for file in playbook.files) == ["play.yml", "site.yml"]
    assert (
        db.session.scalar(select(PlaybookFile).where(PlaybookFile.name == "old.yml"))
        is None
    )


def test_bad_yaml_names_the_file_and_the_line(client):
    response = client.post(
        "/playbooks/new",
        data=_form(
            csrf_token(client),
            [("site.yml", PING_PLAYBOOK), ("tasks/main.yml", BROKEN_YAML)],
        ),
    )

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "tasks/main.yml: Invalid YAML at line 4" in page
    assert BROKEN_YAML.splitlines()[3] in page  # what was typed is kept
    assert _playbook("deploy") is None


def test_missing_entry_file(client):
    response = client.post(
        "/playbooks/new",
        data=_form(csrf_token(client), [("main.yml", PING_PLAYBOOK)], entry="site.yml"),
    )

    assert response.status_code == 422
    assert "Missing entry file: site.yml" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../x.yml", "may not hold &#39;..&#39;"),
        ("/etc/passwd", "no leading /"),
        ("roles//main.yml", "empty segment"),
        ("my file.yml", "Use only letters"),
    ],
)
def test_bad_file_name(client, name, message):
    response = client.post(
        "/playbooks/new",
        data=_form(
            csrf_token(client), [("site.yml", PING_PLAYBOOK), (name, "- a: 1\n")]
        ),
    )

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _playbook("deploy") is None


def test_entry_file_must_be_a_list_of_plays(client):
    response = client.post(
        "/playbooks/new",
        data=_form(csrf_token(client), [("site.yml", "hosts: all\n")]),
    )

    assert response.status_code == 422
    assert "a playbook is a list of plays" in response.get_data(as_text=True)


def test_file_names_are_unique_within_a_playbook(client):
    response = client.post(
        "/playbooks/new",
        data=_form(csrf_token(client), [("site.yml", PING_PLAYBOOK), ("site.yml", "")]),
    )

    assert response.status_code == 422
    assert "site.yml is already a file of this playbook" in response.get_data(
        as_text=True
    )


def test_playbook_names_are_unique(client, make):
    make.playbook("deploy")

    response = client.post(
        "/playbooks/new", data=_form(csrf_token(client), [("site.yml", PING_PLAYBOOK)])
    )

    assert response.status_code == 422
    assert "A playbook named deploy already exists." in response.get_data(as_text=True)


def test_delete_an_unused_playbook(client, make):
    playbook = make.playbook("deploy")

    response = client.post(
        f"/playbooks/{playbook.id}/delete", data={"csrf_token": csrf_token(client)}
    )

    assert response.status_code == 302
    assert _playbook("deploy") is None
    assert db.session.scalar(select(PlaybookFile)) is None
    assert "Playbook deploy deleted." in client.get("/playbooks/").get_data(
        as_text=True
    )


def test_deleting_a_playbook_in_use_is_refused(client, make):
    playbook = make.playbook("deploy")
    make.job("web-deploy", playbook=playbook)
    make.job("db-deploy", playbook=playbook)

    response = client.post(
        f"/playbooks/{playbook.id}/delete",
        data={"csrf_token": csrf_token(client)},
        follow_redirects=True,
    )

    page = response.get_data(as_text=True)
    assert "Playbook deploy is used by db-deploy, web-deploy" in page
    assert _playbook("deploy") is not None


def test_post_without_csrf_token_is_refused(client):
    response = client.post(
        "/playbooks/new",
        data={"name": "deploy", "entry": "site.yml", "files-0-name": "site.yml"},
    )

    assert response.status_code == 400
    assert _playbook("deploy") is None


# The service on its own, as a JSON API would call it.


@pytest.mark.all_databases
@pytest.mark.parametrize(
    "name", ["site.yml", "roles/web/tasks/main.yml", "files/a-b_c.conf", ".hidden"]
)
def test_good_file_names(name):
    assert playbook_service.check_file_name(name) == name


@pytest.mark.all_databases
@pytest.mark.parametrize(
    "name", ["", "../x.yml", "a/../../x", "./x.yml", "/x.yml", "a//b", "a/", "a b", "é"]
)
def test_bad_file_names(name):
    with pytest.raises(Invalid):
        playbook_service.check_file_name(name)


@pytest.mark.all_databases
def test_create_from_a_mapping_of_files(app):
    playbook = playbook_service.create_playbook(
        name="deploy", entry="site.yml", files={"site.yml": PING_PLAYBOOK}
    )

    assert playbook.id is not None
    assert [file.name for file in playbook.files] == ["site.yml"]


@pytest.mark.all_databases
def test_update_may_swap_two_file_names(app, make):
    """Files are matched by name, so the unique index never sees a clash."""
    playbook = make.playbook(files={"site.yml": PING_PLAYBOOK, "other.yml": "[]\n"})

    playbook_service.update_playbook(
        playbook,
        name=playbook.name,
        entry="other.yml",
        files=[("other.yml", PING_PLAYBOOK), ("site.yml", "[]\n"), ("new.yml", "")],
    )

    db.session.expire_all()
    files = {file.name: file.content for file in playbook.files}
    assert files == {"other.yml": PING_PLAYBOOK, "site.yml": "[]\n", "new.yml": ""}


@pytest.mark.all_databases
def test_every_problem_is_reported_at_once(app):
    with pytest.raises(ServiceError) as caught:
        playbook_service.create_playbook(
            name="",
            entry="",
            files=[("../x.yml", ""), ("ok.yml", "a: [1\n")],
        )

    assert set(caught.value.fields) == {
        "name",
        "entry",
        "files.0.name",
        "files.1.content",
    }
    assert "line 2" in caught.value.fields["files.1.content"]


@pytest.mark.all_databases
def test_a_file_cannot_also_be_a_folder(app):
    with pytest.raises(ServiceError) as caught:
        playbook_service.create_playbook(
            name="deploy",
            entry="site.yml",
            files=[("site.yml", PING_PLAYBOOK), ("roles", ""), ("roles/x.yml", "")],
        )

    assert "roles is a file" in caught.value.fields["files.2.name"]


@pytest.mark.all_databases
def test_a_name_taken_meanwhile_is_a_field_error(app, make, monkeypatch):
    """The check passes, another request saved the same name, the commit fails."""
    make.playbook("deploy")
    monkeypatch.setattr(playbook_service, "_name_taken", lambda name, playbook: False)

    with pytest.raises(ServiceError) as caught:
        playbook_service.create_playbook(
            name="deploy", entry="site.yml", files={"site.yml": PING_PLAYBOOK}
        )

    assert caught.value.fields == {"name": "A playbook named deploy already exists."}
    assert len(db.session.scalars(select(Playbook)).all()) == 1


@pytest.mark.all_databases
def test_delete_in_use_names_the_jobs(app, make):
    playbook = make.playbook("deploy")
    make.job("nightly", playbook=playbook)

    with pytest.raises(ServiceError, match="used by nightly"):
        playbook_service.delete_playbook(playbook)


def test_edit_form_shows_the_entry_file_first(client, make):
    playbook = make.playbook(
        files={"site.yml": PING_PLAYBOOK, "roles/web/tasks/main.yml": "[]\n"}
    )

    page = client.get(f"/playbooks/{playbook.id}/edit").get_data(as_text=True)

    assert (
        'name="files-0-name" placeholder="site.yml" type="text" value="site.yml"'
        in page
    )
