"""Forms while one types: variables and playbook files checked (YAML errors with
their line), and the host and group pickers' search.
"""

from __future__ import annotations

import re

from helpers import csrf_token

HX = {"HX-Request": "true"}
PICKED = re.compile(r'name="(hosts|groups)" value="(\d+)"( checked)?')


def _check(client, url: str, **form):
    form.setdefault("csrf_token", csrf_token(client))
    return client.post(url, data=form, headers=HX)


def test_variables_are_checked_as_one_types(client):
    good = _check(client, "/validate/vars?field=extra_vars", extra_vars="a: 1\nb: 2")
    assert good.status_code == 200
    body = good.get_data(as_text=True)
    assert 'id="extra_vars-check"' in body and "2 variables." in body
    assert "fine" in body

    bad = _check(client, "/validate/vars?field=vars", vars="a: 1\n  b: [\n")
    body = bad.get_data(as_text=True)
    assert 'class="check error"' in body
    assert "Invalid YAML at line 2" in body and 'data-line="2"' in body

    empty = _check(client, "/validate/vars?field=vars", vars="")
    assert "No variable." in empty.get_data(as_text=True)
    named = _check(client, "/validate/vars?field=vars", vars="1bad: x")
    assert "Not a valid variable name: 1bad" in named.get_data(as_text=True)


def test_a_playbook_file_is_checked_with_the_line_of_its_error(client):
    form = {
        "entry": "site.yml",
        "files-0-name": "site.yml",
        "files-0-content": "- hosts: all\n  tasks:\n    - debug: msg=hi\n   bad",
    }
    url = "/validate/playbook-file?field=files-0-content&name=files-0-name"

    answer = _check(client, url, **form).get_data(as_text=True)

    assert 'id="files-0-content-check"' in answer
    assert "site.yml: Invalid YAML at line 4" in answer
    assert 'data-line="4"' in answer

    form["files-0-content"] = "- hosts: all\n  tasks: []\n"
    assert "Valid YAML." in _check(client, url, **form).get_data(as_text=True)
    form["files-0-content"] = "hosts: all\n"
    assert "a playbook is a list of plays" in _check(client, url, **form).get_data(
        as_text=True
    )
    form["files-0-name"] = "README"
    form["entry"] = "other.yml"
    assert 'class="check fine"' in _check(client, url, **form).get_data(as_text=True)


def test_checks_need_the_csrf_token(client):
    answer = client.post("/validate/vars?field=vars", data={"vars": "a: 1"}, headers=HX)
    assert answer.status_code == 400


def test_a_saved_playbooks_yaml_error_marks_its_line_for_the_gutter(client):
    answer = client.post(
        "/playbooks/new",
        data={
            "csrf_token": csrf_token(client),
            "name": "broken",
            "entry": "site.yml",
            "files-0-name": "site.yml",
            "files-0-content": "- hosts: all\n  tasks:\n  - x: [\n",
            "save": "1",
        },
    )

    assert answer.status_code == 422
    body = answer.get_data(as_text=True)
    assert 'class="code-edit" data-error-line="4"' in body
    assert "line 4" in body


def test_the_job_form_lists_every_host_as_a_checkbox_ticked_ones_first(client, make):
    web = [make.host(f"web{n}") for n in range(1, 4)]
    job = make.job("deploy", hosts=[web[2]])

    page = client.get(f"/jobs/{job.id}/edit").get_data(as_text=True)

    boxes = PICKED.findall(page)
    hosts = [
        (value, bool(checked)) for kind, value, checked in boxes if kind == "hosts"
    ]
    assert hosts[0] == (str(web[2].id), True)
    assert sorted(value for value, _ in hosts) == sorted(str(h.id) for h in web)
    assert 'id="hosts-search"' in page and "data-needs-js hidden" in page


def test_the_host_picker_searches_and_keeps_what_is_ticked(client, make):
    db1, web1, web2 = make.host("db1"), make.host("web1"), make.host("web2")

    answer = client.get(
        f"/pickers/hosts?hosts_search=WEB&hosts={db1.id}", headers=HX
    ).get_data(as_text=True)

    assert PICKED.findall(answer) == [
        ("hosts", str(db1.id), " checked"),
        ("hosts", str(web1.id), ""),
        ("hosts", str(web2.id), ""),
    ]
    assert 'id="hosts-options"' in answer
    nothing = client.get("/pickers/hosts?hosts_search=zzz", headers=HX)
    assert "No other host has “zzz” in its name." in nothing.get_data(as_text=True)


def test_the_group_picker_shows_a_bounded_number_of_matches(client, make, monkeypatch):
    from app.web import pickers

    monkeypatch.setattr(pickers, "MATCHES", 2)
    for name in ("apps", "dbs", "webs"):
        make.group(name)

    answer = client.get("/pickers/groups?groups_search=s", headers=HX).get_data(
        as_text=True
    )

    assert len(PICKED.findall(answer)) == 2
    assert "More groups match: type more of the name." in answer
