"""Logging in and out, passwords, login throttling, CSRF and security headers."""

from __future__ import annotations

import pytest

from app.auth import throttle
from app.extensions import db
from app.models import Role, User
from app.services import ServiceError
from app.services import users as user_service

from factories import PASSWORD
from helpers import csrf_token, login


def _login(client, username: str, password: str = PASSWORD, next_page: str = ""):
    url = "/login" + (f"?next={next_page}" if next_page else "")
    return client.post(
        url,
        data={
            "csrf_token": csrf_token(client),
            "username": username,
            "password": password,
        },
    )


# Anonymous visitors


def test_pages_send_anonymous_visitors_to_the_login_page(anon_client):
    response = anon_client.get("/hosts/?q=web")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/hosts/?q%3Dweb"
    assert anon_client.get(response.headers["Location"]).status_code == 200


def test_htmx_fragments_make_htmx_load_the_login_page(anon_client, make):
    response = anon_client.get(
        "/runs/1/log?after=0",
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/runs/1"},
    )

    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/runs/1"
    assert response.get_data() == b""


def test_static_files_and_the_login_page_need_no_login(anon_client):
    with anon_client.get("/static/app.css") as response:
        assert response.status_code == 200
    body = anon_client.get("/login").get_data(as_text=True)
    assert 'name="password"' in body
    assert 'href="/hosts/' not in body, "no menu before logging in"


# Logging in


def test_login_opens_a_session_and_goes_to_the_page_asked_for(anon_client, make):
    make.user("ann", role="viewer")

    response = _login(anon_client, "Ann", next_page="/hosts/")

    assert response.status_code == 302
    assert response.headers["Location"] == "/hosts/"
    page = anon_client.get("/hosts/").get_data(as_text=True)
    assert 'data-user="ann"' in page
    assert db.session.scalar(db.select(User)).last_login_at is not None


@pytest.mark.parametrize(
    "next_page",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        # Browsers drop tabs and newlines from a URL: these are //evil.example.
        "/%09/evil.example",
        "/%0A/evil.example",
    ],
)
def test_login_never_sends_elsewhere(anon_client, make, next_page):
    make.user("ann")

    response = _login(anon_client, "ann", next_page=next_page)

    assert response.headers["Location"] == "/"


def test_wrong_password_and_unknown_user_get_the_same_answer(anon_client, make):
    make.user("ann")

    wrong = _login(anon_client, "ann", "not the password")
    unknown = _login(anon_client, "bob", "not the password")

    for response in (wrong, unknown):
        assert response.status_code == 422
        assert "Wrong user name or password." in response.get_data(as_text=True)
    assert anon_client.get("/hosts/").status_code == 302


def test_a_deactivated_user_cannot_log_in(anon_client, make):
    make.user("ann", active=False)

    assert _login(anon_client, "ann").status_code == 422


def test_login_form_without_csrf_token_is_refused(anon_client, make):
    make.user("ann")

    response = anon_client.post(
        "/login", data={"username": "ann", "password": PASSWORD}
    )

    assert response.status_code == 400
    assert anon_client.get("/hosts/").status_code == 302


def test_logout_ends_the_session(client):
    response = client.post("/logout", data={"csrf_token": csrf_token(client)})

    assert response.headers["Location"] == "/login"
    assert client.get("/hosts/").status_code == 302


def test_a_session_cookie_copied_before_logging_out_is_worthless_after(
    app, anon_client, make
):
    make.user("ann", role="viewer")
    assert _login(anon_client, "ann").status_code == 302
    copied = anon_client.get_cookie("session").value  # a proxy log, a shared PC
    other = app.test_client()
    assert _login(other, "ann").status_code == 302  # another browser of hers

    anon_client.post("/logout", data={"csrf_token": csrf_token(anon_client)})

    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/hosts/").status_code == 302
    assert other.get("/hosts/").status_code == 302, "logging out ends them all"


def test_logout_needs_a_post_with_the_csrf_token(client):
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/hosts/").status_code == 200


# Throttling


def test_failed_logins_lock_the_user_name_for_a_while(anon_client, make):
    make.user("ann")
    for _ in range(throttle.USER_LIMIT):
        assert _login(anon_client, "ann", "wrong password").status_code == 422

    locked = _login(anon_client, "ann")  # the right password, too late

    assert locked.status_code == 429
    body = locked.get_data(as_text=True)
    assert "Too many failed logins for this user name" in body
    assert "locked for 30 s" in body
    assert anon_client.get("/hosts/").status_code == 302


def test_each_failure_past_the_limit_doubles_the_lock(app, make):
    for _ in range(throttle.USER_LIMIT + 2):
        throttle.failed("ann", "10.0.0.1")

    lock = throttle.locked("ann", "10.0.0.9")

    assert lock is not None and lock.scope == "user"
    assert throttle.FIRST_LOCK * 4 - 2 <= lock.seconds <= throttle.FIRST_LOCK * 4


def test_many_failures_from_one_address_lock_every_name_from_it(app):
    for number in range(throttle.ADDRESS_LIMIT):
        throttle.failed(f"name{number}", "10.0.0.1")

    assert throttle.locked("someone-else", "10.0.0.1").scope == "address"
    assert throttle.locked("someone-else", "10.0.0.2") is None


def test_a_good_login_clears_the_count_of_its_name(anon_client, make):
    make.user("ann")
    for _ in range(throttle.USER_LIMIT - 1):
        _login(anon_client, "ann", "wrong password")

    assert _login(anon_client, "ann").status_code == 302
    anon_client.post("/logout", data={"csrf_token": csrf_token(anon_client)})
    for _ in range(throttle.USER_LIMIT - 1):
        _login(anon_client, "ann", "wrong password")
    assert _login(anon_client, "ann").status_code == 302


# Passwords


def test_change_own_password_ends_other_sessions(app, make):
    user = make.user("ann", role="viewer")
    here, elsewhere = app.test_client(), app.test_client()
    for client in (here, elsewhere):
        assert _login(client, "ann").status_code == 302

    response = here.post(
        "/account/password",
        data={
            "csrf_token": csrf_token(here),
            "current": PASSWORD,
            "new": "a much better password",
            "confirm": "a much better password",
        },
    )

    assert response.status_code == 302
    assert here.get("/hosts/").status_code == 200
    assert elsewhere.get("/hosts/").status_code == 302
    assert user_service.authenticate("ann", "a much better password") == user


def test_change_password_checks_the_current_one_and_the_length(client):
    response = client.post(
        "/account/password",
        data={
            "csrf_token": csrf_token(client),
            "current": "not it",
            "new": "short",
            "confirm": "short",
        },
    )

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This is not your current password." in body
    assert "Use at least 10 characters." in body


def test_passwords_are_stored_as_scrypt_hashes(app):
    user = user_service.create_user(username="ann", password="a long password")

    assert user.password_hash.startswith("scrypt:")
    assert "a long password" not in user.password_hash


# Users, for admins


def test_admin_adds_a_user_and_sees_the_generated_password_once(client):
    response = client.post(
        "/users/new",
        data={"csrf_token": csrf_token(client), "username": "Bob", "role": "operator"},
    )

    body = response.get_data(as_text=True)
    bob = user_service.find("bob")
    assert response.status_code == 200
    assert bob.role == Role.OPERATOR
    password = body.split("data-password>")[1].split("<")[0]
    assert user_service.authenticate("bob", password) == bob
    assert password not in client.get("/users/").get_data(as_text=True)


def test_deactivating_a_user_ends_their_sessions(app, client, make):
    make.user("ann", role="operator")
    theirs = app.test_client()
    _login(theirs, "ann")
    ann = user_service.find("ann")

    client.post(
        f"/users/{ann.id}/edit",
        data={"csrf_token": csrf_token(client), "role": "operator"},
    )

    assert db.session.get(User, ann.id).active is False
    assert theirs.get("/hosts/").status_code == 302


def test_the_last_admin_cannot_be_demoted(app):
    admin = user_service.create_user(
        username="root", password="a long password", role="admin"
    )

    with pytest.raises(ServiceError, match="last active admin"):
        user_service.update_user(admin, role="viewer", active=True)
    with pytest.raises(ServiceError, match="last active admin"):
        user_service.update_user(admin, role="admin", active=False)


def test_a_reset_password_is_shown_once_and_works(app, client, make):
    ann = make.user("ann", role="viewer")

    response = client.post(
        f"/users/{ann.id}/password", data={"csrf_token": csrf_token(client)}
    )

    password = response.get_data(as_text=True).split("data-password>")[1][:20]
    assert user_service.authenticate("ann", password) is not None
    assert user_service.authenticate("ann", PASSWORD) is None


# Roles on pages


def test_a_viewer_sees_no_button_they_cannot_use(app, make):
    host = make.host("web1")
    job = make.job(hosts=[host])
    client = app.test_client()
    login(client, "viewer")

    pages = [
        client.get(url).get_data(as_text=True)
        for url in ("/hosts/", f"/hosts/{host.id}", "/jobs/", f"/jobs/{job.id}")
    ]

    for page in pages:
        assert "/edit" not in page
        assert "/delete" not in page
        assert "/launch" not in page
        assert 'href="/quick/new"' not in page
        assert 'href="/users/"' not in page
        assert 'href="/settings/"' not in page
        assert 'href="/audit/"' not in page
    assert (
        client.post(
            f"/jobs/{job.id}/launch", data={"csrf_token": csrf_token(client)}
        ).status_code
        == 403
    )


def test_an_operator_sees_run_buttons_but_not_host_forms(app, make):
    host = make.host("web1")
    job = make.job(hosts=[host])
    client = app.test_client()
    login(client, "operator")

    job_page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    host_page = client.get(f"/hosts/{host.id}").get_data(as_text=True)

    assert f"/jobs/{job.id}/launch" in job_page
    assert f"/jobs/{job.id}/edit" in job_page
    assert "/edit" not in host_page
    assert client.get(f"/hosts/{host.id}/edit").status_code == 403


def test_forbidden_page_names_the_role(app):
    client = app.test_client()
    login(client, "viewer")

    response = client.get("/hosts/new")

    assert response.status_code == 403
    assert "Your role, <strong>viewer</strong>, does not allow this." in (
        response.get_data(as_text=True)
    )


# CSRF and headers


def test_a_form_post_without_the_csrf_token_is_refused(client, make):
    host = make.host("web1")

    response = client.post(f"/hosts/{host.id}/delete")

    assert response.status_code == 400
    assert client.get(f"/hosts/{host.id}").status_code == 200


def test_an_htmx_post_needs_the_token_in_its_header(client, make):
    job = make.job()
    token = csrf_token(client)

    without = client.post(f"/jobs/{job.id}/launch", headers={"HX-Request": "true"})
    with_token = client.post(
        f"/jobs/{job.id}/launch",
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )

    assert without.status_code == 400
    assert with_token.status_code == 302


def test_every_answer_carries_the_security_headers(client, anon_client):
    for response in (
        client.get("/runs/"),
        anon_client.get("/login"),
        anon_client.get("/hosts/"),
        anon_client.get("/static/app.js"),
        client.get("/no-such-page"),
    ):
        response.close()  # a static file's answer holds the file open
        headers = response.headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
    assert client.get("/runs/").headers["Cache-Control"] == "no-store"


def test_pages_hold_no_inline_script(client, make):
    job = make.job()
    for url in ("/runs/", f"/jobs/{job.id}", f"/hosts/{job.hosts[0].id}"):
        body = client.get(url).get_data(as_text=True)
        assert "<script>" not in body and "onsubmit" not in body


def test_session_cookie_is_http_only_and_same_site(app, anon_client, make):
    make.user("ann")

    response = _login(anon_client, "ann")

    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert app.config["SESSION_COOKIE_SECURE"] is False  # development


def test_production_cookies_are_secure(settings):
    import dataclasses

    from app import create_app

    app = create_app(dataclasses.replace(settings, env="production"))

    assert app.config["SESSION_COOKIE_SECURE"] is True


# The command line


def test_cli_creates_users_from_a_password_file(app, tmp_path):
    secret = tmp_path / "password"
    secret.write_text("a long enough password\n")

    result = app.test_cli_runner().invoke(
        args=["users", "create", "Ann", "--role", "admin", "--password-file", secret]
    )

    assert result.exit_code == 0, result.output
    assert "User ann created (admin)." in result.output
    assert user_service.authenticate("ann", "a long enough password").role == "admin"


def test_cli_asks_for_the_password_twice(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "bob"], input="a long password\na long password\n"
    )

    assert result.exit_code == 0, result.output
    assert user_service.find("bob").role == "viewer"


def test_cli_says_why_a_user_was_refused(app, tmp_path):
    secret = tmp_path / "password"
    secret.write_text("short\n")

    result = app.test_cli_runner().invoke(
        args=["users", "create", "ann", "--password-file", secret]
    )

    assert result.exit_code == 1
    assert "password: Use at least 10 characters." in result.output


def test_ensure_admin_makes_one_admin_once_and_prints_its_password(app):
    runner = app.test_cli_runner()

    first = runner.invoke(args=["users", "ensure-admin"])
    second = runner.invoke(args=["users", "ensure-admin"])

    password = first.output.split("password:")[1].split()[0]
    assert user_service.authenticate("admin", password).role == "admin"
    assert "shown only this once" in first.output
    assert second.output == ""
    listed = runner.invoke(args=["users", "list"]).output
    assert "admin" in listed
