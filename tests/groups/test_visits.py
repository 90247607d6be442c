"""The peer review: a visit with reviewers (never the farm's own producer), the checklist filled
item by item, signed off, then decided by a coordinator (only), recorded with who and when."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.core.errors import InvalidState, NotAllowed, NotFound
from marketplace.core.extensions import db
from marketplace.groups import services
from marketplace.groups.models import (
    Answer,
    MembershipStatus,
    Outcome,
    ReviewerRole,
    Standard,
    StandardItem,
    VisitPhoto,
    VisitStatus,
)
from marketplace.trust.models import Certification, CertificationScheme, CertificationStatus
from tests.factories import ProducerFactory, UserFactory, today
from tests.groups.helpers import (
    add_member,
    coordinator_of,
    make_group,
    scheduled_visit,
    signed_visit,
)
from tests.media.imagedata import picture

Choice = services.ReviewerChoice


def _items(visit):
    return db.session.get(Standard, visit.standard_id).items


# --- Scheduling --------------------------------------------------------------------------


def test_a_reviewer_cannot_review_their_own_farm(ctx):
    group = make_group()
    membership = add_member(group)
    owner = membership.producer.user
    with pytest.raises(services.GroupError, match="own farm"):
        services.schedule_visit(coordinator_of(group), membership, today(), [Choice(ReviewerRole.MEMBER, user_id=owner.id)])
    with pytest.raises(services.GroupError, match="own farm"):  # not as a "consumer" either
        services.schedule_visit(coordinator_of(group), membership, today(),
                                [Choice(ReviewerRole.CONSUMER, email=owner.email)])


def test_member_reviewers_come_from_this_group_only(ctx):
    group, other = make_group(), make_group()
    membership = add_member(group)
    outsider = add_member(other).producer.user
    applicant = add_member(group, status=MembershipStatus.APPLIED).producer.user
    for user in (outsider, applicant, UserFactory()):
        with pytest.raises(services.GroupError):
            services.schedule_visit(coordinator_of(group), membership, today(),
                                    [Choice(ReviewerRole.MEMBER, user_id=user.id)])


def test_scheduling_rules(ctx, outbox):
    group = make_group()
    coordinator = coordinator_of(group)
    membership = add_member(group)
    reviewer = add_member(group).producer.user
    consumer = UserFactory()
    choices = [Choice(ReviewerRole.MEMBER, user_id=reviewer.id, shown_name="Айгүл Т."),
               Choice(ReviewerRole.CONSUMER, email=consumer.email)]
    with pytest.raises(NotAllowed):
        services.schedule_visit(coordinator_of(make_group()), membership, today(), choices)
    with pytest.raises(services.GroupError):
        services.schedule_visit(coordinator, membership, today() + timedelta(days=900), choices)
    with pytest.raises(services.GroupError):
        services.schedule_visit(coordinator, membership, today(), [])
    with pytest.raises(services.GroupError):  # the same person twice
        services.schedule_visit(coordinator, membership, today(), choices + [Choice(ReviewerRole.ADVISER,
                                                                                    email=reviewer.email)])
    visit = services.schedule_visit(coordinator, membership, today(), choices)
    db.session.commit()
    assert [(r.role, r.shown_name) for r in visit.reviewers] == [(ReviewerRole.MEMBER, "Айгүл Т."),
                                                                  (ReviewerRole.CONSUMER, "")]
    assert outbox(reviewer.email) and outbox(consumer.email) and outbox(membership.producer.user.email)
    with pytest.raises(services.GroupError):  # one visit in progress per farm
        services.schedule_visit(coordinator, membership, today(), choices)


def test_no_visit_without_a_standard_or_of_a_non_member(ctx):
    group = make_group(items=0)
    membership = add_member(group)
    reviewer = add_member(group).producer.user
    with pytest.raises(services.GroupError, match="standard"):
        services.schedule_visit(coordinator_of(group), membership, today(), [Choice(ReviewerRole.MEMBER, user_id=reviewer.id)])
    group = make_group()
    suspended = add_member(group, status=MembershipStatus.SUSPENDED)
    with pytest.raises(services.GroupError):
        services.schedule_visit(coordinator_of(group), suspended, today(), [Choice(ReviewerRole.MEMBER, user_id=reviewer.id)])


# --- Filling in -------------------------------------------------------------------------


def test_answers_are_saved_item_by_item_and_a_repeat_changes_nothing(ctx):
    group = make_group()
    visit = scheduled_visit(group, add_member(group))
    reviewer = visit.reviewers[0].user
    item = _items(visit)[0]
    first = services.save_answer(reviewer, visit, item.id, "complies", "Compost heap seen")
    db.session.commit()
    stamp = first.answer.updated_at
    again = services.save_answer(reviewer, visit, item.id, "complies", "Compost heap seen ")
    assert again.answer.id == first.answer.id and again.answer.updated_at == stamp
    services.save_answer(reviewer, visit, item.id, "not", "")
    assert first.answer.answer == Answer.DOES_NOT_COMPLY and first.answer.updated_by_id == reviewer.id
    with pytest.raises(services.GroupError):
        services.save_answer(reviewer, visit, item.id, "maybe", "")
    with pytest.raises(services.GroupError):
        services.save_answer(reviewer, visit, item.id, "na", "x" * 1001)


def test_only_reviewers_fill_in_and_only_items_of_the_visits_standard(ctx):
    group = make_group()
    visit = scheduled_visit(group, add_member(group))
    item = _items(visit)[0]
    other_group = make_group()
    other_item = db.session.scalar(select(StandardItem.id).join(Standard)
                                   .where(Standard.group_id == other_group.id).limit(1))
    for outsider in (UserFactory(), coordinator_of(group), visit.producer.user):
        with pytest.raises(NotAllowed):
            services.save_answer(outsider, visit, item.id, "complies", "")
    with pytest.raises(NotFound):
        services.save_answer(visit.reviewers[0].user, visit, other_item, "complies", "")


def test_a_reviewer_who_became_the_farms_owner_still_cannot_fill_it_in(ctx):
    """Defence in depth: even a reviewer row naming the owner (made by hand) is refused."""
    group = make_group()
    membership = add_member(group)
    visit = scheduled_visit(group, membership)
    visit.reviewers[0].user_id = membership.producer.user_id
    db.session.commit()
    with pytest.raises(NotAllowed, match="own farm"):
        services.save_answer(membership.producer.user, visit, _items(visit)[0].id, "complies", "")


def test_signing_needs_every_item_and_the_last_signature_makes_the_answers_final(ctx):
    group = make_group(items=2)
    membership = add_member(group)
    first, second = add_member(group).producer.user, add_member(group).producer.user
    visit = scheduled_visit(group, membership, [first, second])
    items = _items(visit)
    services.save_answer(first, visit, items[0].id, "complies", "")
    with pytest.raises(services.GroupError, match="1 left"):
        services.sign_off(first, visit)
    services.save_answer(second, visit, items[1].id, "na", "No animals")
    services.sign_off(first, visit)
    services.sign_off(first, visit)  # twice is once
    assert visit.status == VisitStatus.SCHEDULED
    # A change after a signature takes the signatures back: they signed other answers.
    saved = services.save_answer(second, visit, items[1].id, "complies", "")
    assert saved.signatures_cleared
    assert all(r.signed_off_at is None for r in visit.reviewers)
    services.sign_off(first, visit)
    services.sign_off(second, visit)
    db.session.commit()
    assert visit.status == VisitStatus.SIGNED and visit.signed_at is not None
    with pytest.raises(InvalidState):
        services.save_answer(first, visit, items[0].id, "not", "")


def test_photos_are_stored_once_per_upload_key_and_hostile_files_are_refused(ctx):
    group = make_group()
    visit = scheduled_visit(group, add_member(group))
    reviewer, item = visit.reviewers[0].user, _items(visit)[0]
    photo = services.add_visit_photo(reviewer, visit, item.id, io.BytesIO(picture("JPEG")), "key-0001-abcd")
    again = services.add_visit_photo(reviewer, visit, item.id, io.BytesIO(picture("JPEG")), "key-0001-abcd")
    db.session.commit()
    assert again.id == photo.id
    for hostile in (b"<?php system($_GET['c']); ?>", b"<svg onload=alert(1)>", b""):
        with pytest.raises(services.GroupError):
            services.add_visit_photo(reviewer, visit, item.id, io.BytesIO(hostile), "key-0002-abcd")
        db.session.rollback()
    with pytest.raises(services.GroupError):
        services.add_visit_photo(reviewer, visit, item.id, io.BytesIO(picture("JPEG")), "../../etc/passwd")
    with pytest.raises(NotAllowed):
        services.add_visit_photo(UserFactory(), visit, item.id, io.BytesIO(picture("JPEG")), "key-0003-abcd")
    assert db.session.scalar(select(VisitPhoto.id).where(VisitPhoto.visit_id == visit.id,
                                                         VisitPhoto.upload_key != "key-0001-abcd")) is None


# --- Deciding ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["reviewer", "producer", "other_coordinator", "admin"])
def test_only_a_coordinator_of_the_group_decides(ctx, who):
    group = make_group()
    membership = add_member(group)
    visit = signed_visit(group, membership)
    actor = {"reviewer": visit.reviewers[0].user, "producer": membership.producer.user,
             "other_coordinator": coordinator_of(make_group()), "admin": UserFactory(roles=["admin"])}[who]
    with pytest.raises(NotAllowed):
        services.decide(actor, visit, Outcome.APPROVED, "Fine")
    db.session.rollback()
    assert db.session.get(type(visit), visit.id).status == VisitStatus.SIGNED


def test_a_coordinator_does_not_decide_on_their_own_farm(ctx):
    group = make_group()
    coordinator = coordinator_of(group)
    membership = add_member(group, ProducerFactory(user=coordinator))
    visit = signed_visit(group, membership)
    with pytest.raises(NotAllowed, match="own farm"):
        services.decide(coordinator, visit, Outcome.APPROVED, "Fine")


def test_the_group_decides_only_once_every_reviewer_signed_and_only_once(ctx):
    group = make_group()
    membership = add_member(group)
    visit = scheduled_visit(group, membership)
    coordinator = coordinator_of(group)
    with pytest.raises(InvalidState):
        services.decide(coordinator, visit, Outcome.APPROVED, "Fine")
    visit = signed_visit(group, add_member(group))
    services.decide(coordinator, visit, Outcome.APPROVED, "Fine")
    db.session.commit()
    with pytest.raises(InvalidState):  # a double submit
        services.decide(coordinator, visit, Outcome.REFUSED, "Changed my mind")


def test_a_decision_says_why_and_conditions_have_a_deadline(ctx):
    group = make_group()
    coordinator = coordinator_of(group)
    visit = signed_visit(group, add_member(group))
    with pytest.raises(services.GroupError):
        services.decide(coordinator, visit, Outcome.APPROVED, "  ")
    with pytest.raises(services.GroupError):
        services.decide(coordinator, visit, Outcome.APPROVED_WITH_CONDITIONS, "Mostly", conditions="Hedge")
    with pytest.raises(services.GroupError):
        services.decide(coordinator, visit, Outcome.APPROVED_WITH_CONDITIONS, "Mostly", conditions="",
                        conditions_due=today() + timedelta(days=10))
    with pytest.raises(services.GroupError):
        services.decide(coordinator, visit, Outcome.APPROVED, "Fine", valid_until=today())
    with pytest.raises(services.GroupError):
        services.decide(coordinator, visit, Outcome.APPROVED, "Fine", valid_until=today() + timedelta(days=4000))
    with pytest.raises(services.GroupError):
        services.decide(coordinator, visit, "bogus", "Fine")


def test_an_approval_is_recorded_with_who_and_when_and_issues_the_certificate(ctx, outbox):
    group = make_group()
    coordinator = coordinator_of(group)
    membership = add_member(group)
    visit = signed_visit(group, membership)
    until = today() + timedelta(days=365)
    decision = services.decide(coordinator, visit, Outcome.APPROVED_WITH_CONDITIONS, "Good farm",
                               conditions="Plant a hedge on the east side", conditions_due=today() + timedelta(days=60),
                               valid_until=until)
    db.session.commit()
    assert decision.decided_by_id == coordinator.id and decision.decided_at is not None
    assert visit.status == VisitStatus.DECIDED
    assert membership.next_visit_due == today() + timedelta(days=60)  # a follow-up checks the conditions
    certificate = db.session.scalar(select(Certification).where(Certification.producer_id == membership.producer_id))
    assert certificate.scheme == CertificationScheme.ORGANIC_PGS and certificate.group_id == group.id
    assert certificate.status == CertificationStatus.VERIFIED and certificate.valid_until == until
    assert certificate.decided_by_id == coordinator.id and certificate.issuer == group.name
    assert outbox(membership.producer.user.email)[-1].template == "visit_decided"


def test_a_renewal_renews_the_same_certificate_and_a_refusal_ends_it(ctx):
    group = make_group()
    coordinator = coordinator_of(group)
    membership = add_member(group)
    services.decide(coordinator, signed_visit(group, membership), Outcome.APPROVED, "Fine",
                    valid_until=today() + timedelta(days=100))
    services.decide(coordinator, signed_visit(group, membership), Outcome.APPROVED, "Still fine",
                    valid_until=today() + timedelta(days=400))
    db.session.commit()
    certificates = db.session.scalars(select(Certification).where(Certification.group_id == group.id)).all()
    assert len(certificates) == 1 and certificates[0].valid_until == today() + timedelta(days=400)
    assert membership.next_visit_due == today() + timedelta(days=400 - services.RENEWAL_LEAD_DAYS)
    services.decide(coordinator, signed_visit(group, membership), Outcome.REFUSED, "Pesticide found")
    db.session.commit()
    assert certificates[0].status == CertificationStatus.REJECTED and certificates[0].valid_until <= today()


def test_a_reviewer_is_told_why_a_cancelled_or_decided_visit_takes_no_answer(ctx):
    # Found trying the demo: the coordinator cancelled a visit while a reviewer filled it in, and
    # the reviewer's phone said "Every reviewer has signed this visit" — nobody had.
    group = make_group()
    membership = add_member(group)
    visit = scheduled_visit(group, membership)
    reviewer = visit.reviewers[0].user
    first = _items(visit)[0].id
    services.cancel_visit(coordinator_of(group), visit)
    db.session.commit()
    with pytest.raises(InvalidState, match="cancelled"):
        services.save_answer(reviewer, visit, first, Answer.COMPLIES.value, "")
    with pytest.raises(InvalidState, match="cancelled"):
        services.sign_off(reviewer, visit)
    decided = signed_visit(group, add_member(group))
    services.decide(coordinator_of(group), decided, Outcome.APPROVED, "All good")
    db.session.commit()
    with pytest.raises(InvalidState, match="decided"):
        services.save_answer(decided.reviewers[0].user, decided, _items(decided)[0].id, Answer.NOT_APPLICABLE.value, "")


def test_a_member_reviewer_suspended_or_removed_after_scheduling_no_longer_fills_in_or_signs(ctx):
    """Reviewers as members are chosen among the group's active members; one the group suspended
    (a complaint about their own farm) or removed since must not go on to sign another's visit."""
    group = make_group()
    reviewer_membership = add_member(group)
    reviewer = reviewer_membership.producer.user
    visit = scheduled_visit(group, add_member(group), [reviewer])
    item = db.session.get(Standard, visit.standard_id).items[0]
    services.suspend_member(coordinator_of(group), reviewer_membership, "Pesticide found on their farm")
    db.session.commit()
    with pytest.raises(services.GroupError, match="active members"):
        services.save_answer(reviewer, visit, item.id, Answer.COMPLIES.value, "")
    with pytest.raises(services.GroupError, match="active members"):
        services.sign_off(reviewer, visit)
    services.reinstate_member(coordinator_of(group), reviewer_membership)
    db.session.commit()
    assert services.save_answer(reviewer, visit, item.id, Answer.COMPLIES.value, "").answer.id
