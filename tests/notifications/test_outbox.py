from sqlalchemy import select

from marketplace.core.extensions import db
from marketplace.notifications.models import OutboxEmail
from marketplace.notifications.services import deliver, queue_email
from tests.factories import UserFactory


def test_an_email_is_stored_only_when_its_transaction_commits(ctx):
    user = UserFactory()
    queue_email(user.email, "verify_email", "Subject", user=user, token="t")
    db.session.rollback()
    assert db.session.scalars(select(OutboxEmail)).all() == []
    queue_email(user.email, "verify_email", "Subject", user=user, token="t")
    db.session.commit()
    [email] = db.session.scalars(select(OutboxEmail)).all()
    assert "/verify#t" in email.body_text and "/verify#t" in email.body_html


def test_a_dedupe_key_stores_one_email(ctx):
    user = UserFactory()
    first = queue_email(user.email, "verify_email", "S", dedupe_key="once-1", user=user, token="t")
    second = queue_email(user.email, "verify_email", "S", dedupe_key="once-1", user=user, token="t")
    db.session.commit()
    assert first is not None and second is None
    assert len(db.session.scalars(select(OutboxEmail)).all()) == 1


def test_emails_are_rendered_in_the_recipients_language(ctx):
    user = UserFactory()
    email = queue_email(user.email, "verify_email", "S", locale="en", user=user, token="t")
    assert email.body_text.startswith("Hello")


def test_send_outbox_delivers_each_email_once(app, ctx):
    user = UserFactory()
    queue_email(user.email, "verify_email", "S", user=user, token="t")
    db.session.commit()
    assert deliver() == 1
    assert deliver() == 0
    result = app.test_cli_runner().invoke(args=["send-outbox"])
    assert "0 email(s) sent" in result.output
    assert db.session.scalar(select(OutboxEmail.sent_at)) is not None


def test_an_email_queued_outside_a_request_never_commits_the_callers_transaction(app):
    """Rendering an email from a command must not deliver (and so commit) half way."""
    from marketplace.accounts.models import User

    with app.app_context():
        first = UserFactory(email="first@example.test")
        queue_email(first.email, "verify_email", "S", user=first, token="t")
        db.session.commit()  # one committed email waits for delivery
        first.name = "Changed but never committed"
        queue_email(first.email, "verify_email", "S", user=first, token="u")  # renders in a temporary request
        db.session.rollback()
        assert db.session.get(User, first.id).name != "Changed but never committed"
    with app.app_context():
        emails = db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)).all()
        assert len(emails) == 1 and emails[0].sent_at is not None  # delivered when the command ended


def test_a_savepoint_does_not_count_as_the_commit(app):
    with app.app_context():
        user = UserFactory()
        with db.session.begin_nested():
            queue_email(user.email, "verify_email", "S", user=user, token="t")
        db.session.rollback()
    with app.app_context():
        assert db.session.scalars(select(OutboxEmail)).all() == []
