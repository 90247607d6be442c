"""The next visit due comes back as a reminder, once per due date, unless a visit is scheduled."""
from __future__ import annotations

from datetime import timedelta

from marketplace.core.extensions import db
from marketplace.groups import services
from marketplace.groups.models import GroupStatus, Outcome
from marketplace.tasks import queue_of
from tests.factories import today
from tests.groups.helpers import add_member, coordinator_of, make_group, scheduled_visit, signed_visit


def test_a_due_visit_is_reminded_once_to_coordinators_and_producer(ctx, outbox):
    group = make_group()
    due = add_member(group)
    due.next_visit_due = today() + timedelta(days=20)
    later = add_member(group)
    later.next_visit_due = today() + timedelta(days=90)
    db.session.commit()
    assert services.send_visit_reminders() == 1
    db.session.commit()
    assert services.send_visit_reminders() == 0
    assert [m.template for m in outbox(coordinator_of(group).email)] == ["visit_due"]
    assert [m.template for m in outbox(due.producer.user.email)] == ["visit_due"]
    assert outbox(later.producer.user.email) == []
    # A new due date (after the next decision) is reminded again.
    due.next_visit_due = today() + timedelta(days=10)
    db.session.commit()
    assert services.send_visit_reminders() == 1


def test_no_reminder_when_the_visit_is_scheduled_or_the_group_suspended(ctx):
    group = make_group()
    membership = add_member(group)
    membership.next_visit_due = today()
    db.session.commit()
    scheduled_visit(group, membership)
    assert services.send_visit_reminders() == 0
    suspended = make_group(status=GroupStatus.SUSPENDED)
    other = add_member(suspended)
    other.next_visit_due = today()
    db.session.commit()
    assert services.send_visit_reminders() == 0


def test_the_reminders_run_as_a_command_and_a_scheduled_job(app, ctx):
    group = make_group()
    membership = add_member(group)
    membership.next_visit_due = today()
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["send-visit-reminders"])
    assert "1 visit reminder(s) queued." in result.output
    assert "send-group-visit-reminders" in queue_of(app).tasks


def test_a_refused_farm_falls_due_for_a_new_visit_and_is_reminded(ctx, outbox):
    # Found trying #25: after a refusal no visit fell due, so no reminder ever came back. As in PGS
    # practice, the farmer addresses the reasons and the group visits again after a set period.
    group = make_group()
    membership = add_member(group)
    services.decide(coordinator_of(group), signed_visit(group, membership), Outcome.REFUSED, "Pesticide found")
    db.session.commit()
    due = today() + timedelta(days=services.REVISIT_AFTER_REFUSAL_DAYS)
    assert membership.next_visit_due == due
    assert services.send_visit_reminders(due - timedelta(days=services.VISIT_REMINDER_DAYS + 1)) == 0
    assert services.send_visit_reminders(due - timedelta(days=services.VISIT_REMINDER_DAYS)) == 1
    db.session.commit()
    assert [m.template for m in outbox(membership.producer.user.email)][-1] == "visit_due"
