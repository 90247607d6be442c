"""The demo's groups tell a story that holds together: what a visitor reads on the public
pages is in the order it happened."""
from __future__ import annotations

from sqlalchemy import select

from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.demo import seed_demo
from marketplace.groups.models import Standard, Visit


def test_each_demo_standard_was_saved_before_the_visits_that_used_it(app):
    # Found trying the demo: "version 1, saved 30 Nov 2026" (the day of seeding) above visits of
    # earlier days that were checked against it.
    with app.app_context():
        seed_demo(weeks=1)
        db.session.commit()
        for visit in db.session.scalars(select(Visit)):
            standard = db.session.get(Standard, visit.standard_id)
            assert standard.created_at.date() <= visit.scheduled_for, (standard.title, visit.scheduled_for)
        db.session.rollback()


def test_demo_producers_accounts_carry_a_persons_name(app):
    # Found trying the demo: a Talas member reviewer was listed to the coordinator as "кымыз",
    # and emailed "Hello кымыз" — the part after the dash of "Нурбек Абдыкалыков — кымыз".
    with app.app_context():
        seed_demo(weeks=1)
        db.session.commit()
        nurbek = db.session.scalar(select(User).where(User.email == "producer6@aimak.test"))
        assert nurbek.name == "Нурбек Абдыкалыков"
        db.session.rollback()
