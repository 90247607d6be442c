import re

from sqlalchemy import select

from marketplace.accounts.models import User
from marketplace.core.extensions import db
from tests.conftest import PASSWORD
from tests.factories import UserFactory


def token_from(email, path):
    """The token after `#` in the emailed link: the part a browser never sends to a server."""
    match = re.search(r"http://localhost" + re.escape(path) + r"#(\S+)", email.body_text)
    assert match, email.body_text
    return match.group(1)


def test_password_reset_link_works_once(client, ctx, outbox):
    UserFactory(email="r@example.test")
    response = client.post("/password/forgot", data={"email": "R@example.test"})
    assert response.status_code == 302
    [email] = outbox("r@example.test")
    token = token_from(email, "/password/reset")

    response = client.post("/password/reset", data={"token": token, "password": "new secret words",
                                                    "confirm": "new secret words"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert client.post("/login", data={"email": "r@example.test", "password": "new secret words"}).status_code == 302

    again = client.post("/password/reset", data={"token": token, "password": "another secret 2",
                                                 "confirm": "another secret 2"}, follow_redirects=True)
    assert "invalid or has expired" in again.get_data(as_text=True)


def test_reset_for_unknown_email_says_the_same_and_sends_nothing(client, ctx, outbox):
    UserFactory(email="known@example.test")
    known = client.post("/password/forgot", data={"email": "known@example.test"}, follow_redirects=True)
    unknown = client.post("/password/forgot", data={"email": "ghost@example.test"}, follow_redirects=True)
    message = "If an account exists for that email, we sent a link"
    assert message in known.get_data(as_text=True) and message in unknown.get_data(as_text=True)
    assert [e.to for e in outbox()] == ["known@example.test"]


def test_an_expired_or_forged_reset_token_is_refused(client, app, ctx, outbox):
    UserFactory(email="x@example.test")
    client.post("/password/forgot", data={"email": "x@example.test"})
    token = token_from(outbox()[0], "/password/reset")
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")

    def reset_with(value):
        return client.post("/password/reset", data={"token": value, "password": "new secret words",
                                                    "confirm": "new secret words"},
                           follow_redirects=True).get_data(as_text=True)

    assert "invalid or has expired" in reset_with(forged)
    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    try:
        assert "invalid or has expired" in reset_with(token)
    finally:
        app.config["PASSWORD_RESET_MAX_AGE"] = 3600


def test_email_verification(client, app, outbox):
    client.post("/register", data={"name": "V", "email": "v@example.test", "password": PASSWORD,
                                   "confirm": PASSWORD, "account_type": "customer", "producer_kind": "farmer"})
    token = token_from(outbox("v@example.test")[0], "/verify")
    assert "your email is confirmed" in client.post("/verify", data={"token": token},
                                                    follow_redirects=True).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User.email_verified_at).where(User.email == "v@example.test"))
