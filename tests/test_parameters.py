"""Parameters: declared on the job form and in the API, asked for at launch,
checked by type, and given to ansible as extra variables of their type."""

from __future__ import annotations

import pytest
from markupsafe import escape
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry, Job, Run, RunStatus
from app.services import ServiceError
from app.services import guard as guard_service
from app.services import jobs as job_service
from app.services import parameters as parameter_service
from app.services import runs as run_service

from helpers import Api, api_error, csrf_token, login, run_log

TYPED_PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: show what arrived
      ansible.builtin.debug:
        msg: >-
          version={{ version }}
          next={{ count + 1 }}
          size={{ size }}
          flavours={{ flavours | join('+') }}
          many={{ flavours | length }}
          verbose={{ verbose is sameas true }}
          note={{ note | default('absent') }}
"""


def parameter(name: str, type: str = "text", **fields) -> dict:
    """A parameter as the service stores it."""
    return {
        "name": name,
        "label": fields.pop("label", name),
        "type": type,
        "required": fields.pop("required", False),
        "default": fields.pop("default", None),
        "help": fields.pop("help", ""),
        "choices": fields.pop("choices", []),
        **fields,
    }


TYPED = [
    parameter("version", required=True, label="Version to deploy"),
    parameter("count", "number", default=2),
    parameter("size", "choice", choices=["small", "large"], default="small"),
    parameter("flavours", "multichoice", choices=["mint", "lime", "plum"]),
    parameter("verbose", "boolean", default=False),
    parameter("note"),
]


def _form(token: str, host_id: int, **changes) -> dict:
    data = {
        "csrf_token": token,
        "name": "deploy",
        "kind": "adhoc",
        "module": "ping",
        "hosts": [str(host_id)],
        "forks": "5",
    }
    data.update(changes)
    return data


def _rows(*rows: dict) -> dict:
    """Parameter rows as the job form posts them."""
    data = {}
    for index, row in enumerate(rows):
        for part, value in row.items():
            data[f"parameters-{index}-{part}"] = value
    return data


# Declaring them: the job form.


def test_add_a_parameter_posts_back_one_more_row_and_saves_nothing(client, make):
    host = make.host()

    response = client.post(
        "/jobs/new",
        data=_form(csrf_token(client), host.id, add_parameter="1")
        | _rows({"name": "version", "type": "text"}),
    )

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'name="parameters-0-name"' in page and 'value="version"' in page
    assert 'name="parameters-1-name"' in page
    assert 'name="parameters-2-name"' not in page
    assert db.session.scalar(select(Job)) is None


def test_parameters_typed_in_rows_are_saved_typed_and_listed(client, make):
    host = make.host()

    response = client.post(
        "/jobs/new",
        data=_form(csrf_token(client), host.id)
        | _rows(
            {"name": "version", "label": "Version", "required": "y", "help": "a tag"},
            {"name": "count", "type": "number", "default": "3"},
            {"name": "ratio", "type": "number", "default": "0.5"},
            {"name": "size", "type": "choice", "choices": "small, large"},
            {"name": "flavours", "type": "multichoice", "choices": "mint,lime,plum"}
            | {"default": "plum, mint"},
            {"name": "verbose", "type": "boolean", "default": "yes"},
            {"name": "db_password", "type": "secret"},
            {"name": "", "label": "", "default": ""},  # a blank row is dropped
        ),
    )

    assert response.status_code == 302, response.get_data(as_text=True)
    job = db.session.scalar(select(Job))
    by_name = {p["name"]: p for p in job.parameters}
    assert list(by_name) == [
        "version",
        "count",
        "ratio",
        "size",
        "flavours",
        "verbose",
        "db_password",
    ]
    assert by_name["version"] == parameter(
        "version", required=True, label="Version", help="a tag"
    )
    assert by_name["count"]["default"] == 3
    assert by_name["ratio"]["default"] == 0.5
    assert by_name["size"]["choices"] == ["small", "large"]
    assert by_name["flavours"]["default"] == ["mint", "plum"]
    assert by_name["verbose"]["default"] is True
    assert by_name["db_password"]["type"] == "secret"

    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'data-parameter="flavours"' in page and "mint, plum" in page
    assert "Multiple choice" in page and "Secret" in page
    # A job with parameters asks for them before it runs.
    assert f'href="/jobs/{job.id}/launch"' in page


@pytest.mark.parametrize(
    ("row", "part", "message"),
    [
        ({"name": "2nd"}, "name", "An Ansible variable name"),
        ({"name": "my-var"}, "name", "An Ansible variable name"),
        ({"name": "class"}, "name", "An Ansible variable name"),
        ({"name": "hostvars"}, "name", "a variable of Ansible's own"),
        ({"name": "ansible_user"}, "name", "a variable of Ansible's own"),
        ({"label": "no name"}, "name", "A parameter needs a name."),
        (
            {"name": "n", "type": "number", "default": "many"},
            "default",
            "Not a valid default: it must be a number.",
        ),
        (
            {"name": "b", "type": "boolean", "default": "perhaps"},
            "default",
            "Not a valid default: write true or false.",
        ),
        ({"name": "c", "type": "choice"}, "choices", "at least one choice"),
        (
            {"name": "c", "type": "choice", "choices": "a, b", "default": "z"},
            "default",
            "Not a valid default: choose one of: a, b.",
        ),
        (
            {"name": "c", "type": "multichoice", "choices": "a, b", "default": "a, z"},
            "default",
            "Not a valid default: not a choice: z.",
        ),
        ({"name": "c", "type": "choice", "choices": "a, a"}, "choices", "twice"),
        (
            {"name": "s", "type": "secret", "default": "hunter2"},
            "default",
            "A secret has no default",
        ),
    ],
)
def test_a_bad_parameter_is_refused_in_its_cell(client, make, row, part, message):
    host = make.host()

    response = client.post(
        "/jobs/new",
        data=_form(csrf_token(client), host.id)
        | _rows({"name": "fine", "type": "text"}, row),
    )

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    # The message is in the cell of row 2, under its input.
    cell = page.split(f'name="parameters-1-{part}"', 1)[1].split("</td>", 1)[0]
    assert str(escape(message)) in cell
    assert db.session.scalar(select(Job)) is None


def test_two_parameters_of_one_name_are_refused(client, make):
    host = make.host()

    response = client.post(
        "/jobs/new",
        data=_form(csrf_token(client), host.id)
        | _rows({"name": "version"}, {"name": "version", "type": "number"}),
    )

    assert response.status_code == 422
    assert "version is already a parameter." in response.get_data(as_text=True)


def test_a_ticked_remove_drops_the_row_on_save(client, make):
    job = make.job(parameters=[parameter("keep"), parameter("drop")])
    page = client.get(f"/jobs/{job.id}/edit").get_data(as_text=True)
    assert 'value="keep"' in page and 'value="drop"' in page

    response = client.post(
        f"/jobs/{job.id}/edit",
        data=_form(csrf_token(client), job.hosts[0].id, name=job.name)
        | _rows({"name": "keep"}, {"name": "drop", "remove": "y"}),
    )

    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(job)
    assert [p["name"] for p in job.parameters] == ["keep"]


def test_the_edit_form_shows_defaults_as_they_are_typed(client, make):
    job = make.job(parameters=TYPED)

    page = client.get(f"/jobs/{job.id}/edit").get_data(as_text=True)

    assert 'name="parameters-1-default" type="text" value="2"' in page
    assert 'name="parameters-4-default" type="text" value="false"' in page
    assert 'value="mint, lime, plum"' in page


# Declaring them: the API.


def test_the_api_round_trips_parameters(app, make):
    api = Api(app, "operator")
    host = make.host()
    declared = [
        {"name": "version", "required": True},
        {"name": "size", "type": "choice", "choices": ["s", "l"], "default": "l"},
        {"name": "token", "type": "secret", "label": "API token"},
    ]

    created = api.post(
        "/jobs",
        {
            "name": "deploy",
            "kind": "adhoc",
            "module": "ping",
            "hosts": [host.id],
            "parameters": declared,
        },
    )

    assert created.status_code == 201, created.get_json()
    job = created.get_json()
    assert job["parameters"] == [
        parameter("version", required=True),
        parameter("size", "choice", choices=["s", "l"], default="l"),
        parameter("token", "secret", label="API token"),
    ]
    # Left out of a PATCH, they stay.
    patched = api.patch(f"/jobs/{job['id']}", {"forks": 3}).get_json()
    assert patched["parameters"] == job["parameters"]


@pytest.mark.parametrize(
    ("declared", "field", "message"),
    [
        ([{"label": "x"}], "parameters.0.name", "Required."),
        ([{"name": "ok", "required": "yes"}], "parameters.0.required", "true or"),
        ([{"name": "ok", "colour": 1}], "parameters.0.colour", "Unknown field."),
        ([{"name": "ok", "type": "date"}], "parameters.0.type", "Choose one of"),
        ([{"name": "bad name"}], "parameters.0.name", "An Ansible variable name"),
        (
            [{"name": "n", "type": "number", "default": "3"}],
            "parameters.0.default",
            "it must be a number.",
        ),
        (
            [{"name": "b", "type": "boolean", "default": 1}],
            "parameters.0.default",
            "true or false",
        ),
        ([{"name": "a"}, {"name": "a"}], "parameters.1.name", "already a parameter"),
        (
            [{"name": "c", "type": "multichoice", "choices": []}],
            "parameters.0.choices",
            "at least one choice",
        ),
        (
            [{"name": "s", "type": "secret", "default": "x"}],
            "parameters.0.default",
            "A secret has no default",
        ),
    ],
)
def test_the_api_refuses_bad_parameters_by_field(app, make, declared, field, message):
    api = Api(app, "operator")
    host = make.host()

    response = api.post(
        "/jobs",
        {
            "name": "deploy",
            "kind": "adhoc",
            "module": "ping",
            "hosts": [host.id],
            "parameters": declared,
        },
    )

    assert message in api_error(response, 422)["fields"][field]
    assert db.session.scalar(select(Job)) is None


# Values at launch: the rules, shared by the form and the API.


@pytest.mark.parametrize(
    ("given", "values"),
    [
        (
            {"version": "1.2"},
            {"version": "1.2", "count": 2, "size": "small", "verbose": False},
        ),
        (
            {"version": "v", "count": 2.5, "flavours": ["plum", "mint"], "note": ""},
            {
                "version": "v",
                "count": 2.5,
                "size": "small",
                "flavours": ["mint", "plum"],
                "verbose": False,
                "note": "",
            },
        ),
        ({"version": "v", "count": 7.0}, {"count": 7}),
        ({"version": "v", "verbose": True, "size": "large"}, {"verbose": True}),
    ],
)
def test_values_take_defaults_and_their_type(given, values):
    errors: dict[str, str] = {}

    result = parameter_service.launch_values(TYPED, given, errors)

    assert errors == {}
    assert values.items() <= result.values.items()


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        ({}, "version", "Version to deploy is required."),
        ({"version": ""}, "version", "Version to deploy is required."),
        ({"version": 12}, "version", "It must be a text."),
        ({"version": "v", "count": "3"}, "count", "It must be a number."),
        ({"version": "v", "count": True}, "count", "It must be a number."),
        ({"version": "v", "size": "huge"}, "size", "Choose one of: small, large."),
        ({"version": "v", "flavours": "mint"}, "flavours", "a list of choices"),
        ({"version": "v", "flavours": ["kiwi"]}, "flavours", "Not a choice: kiwi."),
        ({"version": "v", "verbose": "yes"}, "verbose", "It must be true or false."),
        ({"version": "v", "colour": "teal"}, "colour", "Not a parameter of this job."),
    ],
)
def test_values_of_the_wrong_type_are_refused_by_name(given, field, message):
    errors: dict[str, str] = {}

    parameter_service.launch_values(TYPED, given, errors)

    assert message in errors[f"parameters.{field}"]


# Values at launch: the launch form.


def test_the_launch_form_asks_each_parameter_with_its_own_input(client, make):
    job = make.job(parameters=[*TYPED, parameter("pw", "secret", help="the key")])

    page = client.get(f"/jobs/{job.id}/launch").get_data(as_text=True)

    assert 'name="param_version" type="text"' in page
    assert "Version to deploy" in page
    assert 'name="param_count" type="text" value="2"' in page
    assert '<select id="param_size" name="param_size">' in page
    assert 'type="checkbox" value="mint"' in page
    assert 'name="param_verbose" type="checkbox"' in page
    assert 'name="param_pw" type="password"' in page and "the key" in page


def test_the_launch_form_refuses_bad_values_under_their_input(client, make):
    job = make.job(parameters=TYPED)

    response = client.post(
        f"/jobs/{job.id}/launch",
        data={"csrf_token": csrf_token(client), "param_count": "a few"},
    )

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "It must be a number." in page
    assert db.session.scalar(select(Run)) is None

    response = client.post(
        f"/jobs/{job.id}/launch",
        data={"csrf_token": csrf_token(client), "param_size": "huge"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Version to deploy is required." in page
    assert "Choose one of: small, large." in page
    assert db.session.scalar(select(Run)) is None


def test_values_typed_on_the_launch_form_reach_ansible_typed(client, make, run_worker):
    job = make.job(
        playbook=make.playbook(files={"site.yml": TYPED_PLAYBOOK}), parameters=TYPED
    )

    response = client.post(
        f"/jobs/{job.id}/launch",
        data={
            "csrf_token": csrf_token(client),
            "param_version": "2.4.1",
            "param_count": "41",
            "param_size": "large",
            "param_flavours": ["mint", "plum"],
            "param_verbose": "y",
        },
    )

    assert response.status_code == 302, response.get_data(as_text=True)
    run = db.session.scalar(select(Run))
    run_worker()
    db.session.refresh(run)
    assert run.status == RunStatus.SUCCESSFUL, run.error
    log = run_log(run)
    assert (
        "version=2.4.1 next=42 size=large flavours=mint+plum many=2 verbose=True "
        "note=absent"
    ) in log
    assert run.parameters == {
        "version": "2.4.1",
        "count": 41,
        "size": "large",
        "flavours": ["mint", "plum"],
        "verbose": True,
    }
    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert 'data-input="parameter-version"><code>2.4.1</code>' in page
    assert "Version to deploy" in page


# Values at launch: the API.


def test_the_api_launches_with_values_and_refuses_bad_ones_by_name(
    app, make, run_worker
):
    api = Api(app, "operator")
    job = make.job(
        playbook=make.playbook(files={"site.yml": TYPED_PLAYBOOK}), parameters=TYPED
    )

    refused = api.post(
        f"/jobs/{job.id}/launch", {"parameters": {"count": "3", "size": "huge"}}
    )
    assert api_error(refused, 422)["fields"] == {
        "parameters.version": "Version to deploy is required.",
        "parameters.count": "It must be a number.",
        "parameters.size": "Choose one of: small, large.",
    }
    assert db.session.scalar(select(Run)) is None

    launched = api.post(
        f"/jobs/{job.id}/launch",
        {"parameters": {"version": "api", "count": 9, "flavours": ["lime"]}},
    )
    assert launched.status_code == 202, launched.get_json()
    assert launched.get_json()["parameters"] == {
        "version": "api",
        "count": 9,
        "size": "small",
        "flavours": ["lime"],
        "verbose": False,
    }
    run_worker()
    run = db.session.get(Run, launched.get_json()["id"])
    assert run.status == RunStatus.SUCCESSFUL, run.error
    log = run_log(run)
    assert "version=api next=10 size=small flavours=lime many=1 verbose=False" in log


def test_parameters_win_over_extra_variables_of_the_same_name(make, run_worker):
    playbook = make.playbook(
        files={
            "site.yml": "- hosts: all\n  gather_facts: false\n  tasks:\n"
            "    - ansible.builtin.debug: msg=colour={{ colour }}\n"
        }
    )
    job = make.job(
        playbook=playbook,
        extra_vars={"colour": "job"},
        parameters=[parameter("colour", default="parameter")],
    )

    run = run_service.launch(job, extra_vars={"colour": "launch"})
    run_worker()

    db.session.refresh(run)
    log = run_log(run)
    assert "colour=parameter" in log


def test_a_schedule_cannot_launch_a_job_missing_a_required_value(make):
    job = make.job(parameters=[parameter("version", required=True)])

    with pytest.raises(ServiceError) as caught:
        run_service.launch(job)

    assert caught.value.fields == {"parameters.version": "version is required."}


def test_the_launch_is_recorded_with_its_values_and_options(client, make):
    login(client, "operator", "ops")
    job = make.job(parameters=TYPED)

    client.post(
        f"/jobs/{job.id}/launch",
        data={"csrf_token": csrf_token(client), "param_version": "9"},
    )

    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "launch")
    ).one()
    assert entry.username == "ops"
    # Boxes left unticked are an answer: no flavour, not verbose.
    assert entry.changes["parameters"] == {
        "version": "9",
        "count": 2,
        "size": "small",
        "flavours": [],
        "verbose": False,
    }
    assert entry.changes["options"]["check_mode"] is False
    assert entry.changes["options"]["forks"] == 5


def test_the_service_checks_definitions_as_the_form_does(app, make):
    host = make.host()

    with pytest.raises(ServiceError) as caught:
        job_service.create_job(
            name="x",
            kind="adhoc",
            module="ping",
            host_ids=[host.id],
            parameters=[{"name": "n", "type": "number", "default": "x"}],
        )

    assert caught.value.fields == {
        "parameters.0.default": "Not a valid default: it must be a number."
    }


def test_the_command_guard_reads_the_values_of_parameters(make):
    """A value typed at launch is a variable of the command like any other."""
    guard_service.create_rule(pattern="rm -rf", action="deny", reason="no wiping")
    job = make.job(
        module="shell", args="{{ command }}", parameters=[parameter("command")]
    )

    with pytest.raises(ServiceError, match="no wiping"):
        run_service.launch(job, parameters={"command": "rm -rf /srv/data"})
    assert run_service.launch(job, parameters={"command": "ls /srv"}).id
