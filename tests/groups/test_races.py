"""Groups attacked with real races (tests/concurrency.run_together, five rounds; on PostgreSQL
the threads truly overlap): two coordinators deciding one visit, two reviewers saving one item,
a reviewer changing an answer while the last reviewer signs."""
from __future__ import annotations

from sqlalchemy import func, select

from marketplace.accounts.models import User
from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.groups import services
from marketplace.groups.models import (
    Answer,
    Decision,
    GroupCoordinator,
    Membership,
    MembershipStatus,
    ReviewerRole,
    Standard,
    Visit,
    VisitAnswer,
    VisitReviewer,
    VisitStatus,
)
from marketplace.trust.models import Certification, CertificationStatus
from tests.concurrency import run_together
from tests.factories import UserFactory, today
from tests.groups.helpers import add_member, coordinator_of, make_group, scheduled_visit, signed_visit

ROUNDS = 5


def _user(user_id: int) -> User:
    return db.session.get(User, user_id)


def _visit(visit_id: int) -> Visit:
    return db.session.get(Visit, visit_id)


def test_two_coordinators_deciding_one_visit_at_once_decide_it_once(app, ctx):
    for _round in range(ROUNDS):
        group = make_group()
        second = UserFactory()
        db.session.add(GroupCoordinator(group_id=group.id, user_id=second.id, shown_name="Second"))
        db.session.commit()
        visit_id = signed_visit(group, add_member(group)).id
        coordinators = [coordinator_of(group).id, second.id]

        def deciding(user_id, outcome):
            return lambda: services.decide(_user(user_id), _visit(visit_id), outcome, "Seen on the farm").id

        results = run_together(app, [deciding(coordinators[0], "approved"), deciding(coordinators[1], "refused")])
        decided = [r for r in results if isinstance(r, int)]
        assert len(decided) == 1, results
        assert all(isinstance(r, DomainError) for r in results if not isinstance(r, int)), results
        assert db.session.scalar(select(func.count()).select_from(Decision)
                                 .where(Decision.visit_id == visit_id)) == 1
        assert db.session.scalar(select(func.count()).select_from(Certification).where(
            Certification.producer_id == _visit(visit_id).producer_id)) <= 1


def test_two_reviewers_saving_one_item_at_once_keep_one_answer(app, ctx):
    for _round in range(ROUNDS):
        group = make_group()
        reviewers = [add_member(group).producer.user for _ in range(2)]
        visit = scheduled_visit(group, add_member(group), reviewers)
        item_id = db.session.get(Standard, visit.standard_id).items[0].id
        visit_id, reviewer_ids = visit.id, [user.id for user in reviewers]

        def saving(user_id, answer):
            return lambda: services.save_answer(_user(user_id), _visit(visit_id), item_id, answer, "n").answer.id

        results = run_together(app, [saving(reviewer_ids[0], Answer.COMPLIES.value),
                                     saving(reviewer_ids[1], Answer.NOT_APPLICABLE.value)])
        assert all(isinstance(r, int) for r in results), results
        assert db.session.scalar(select(func.count()).select_from(VisitAnswer)
                                 .where(VisitAnswer.visit_id == visit_id)) == 1


def test_an_answer_changed_while_the_last_reviewer_signs_never_leaves_a_signed_visit_unsigned(app, ctx):
    """Reviewer A signed; A changes an answer while B, the last, signs. Either B signed first (the
    visit is signed and A is told its answers are final) or A's change came first (the signatures
    are taken back and the visit waits for both). Never a signed visit whose answers changed
    after its signatures and whose reviewers' signatures are gone."""
    for _round in range(ROUNDS):
        group = make_group()
        first, last = (add_member(group).producer.user for _ in range(2))
        visit = scheduled_visit(group, add_member(group), [first, last])
        items = db.session.get(Standard, visit.standard_id).items
        for user in (first, last):
            for item in items:
                services.save_answer(user, visit, item.id, Answer.COMPLIES.value, "")
        services.sign_off(first, visit)
        db.session.commit()
        visit_id, first_id, last_id, item_id = visit.id, first.id, last.id, items[0].id

        results = run_together(app, [
            lambda: services.save_answer(_user(first_id), _visit(visit_id), item_id,
                                         Answer.DOES_NOT_COMPLY.value, "Saw sprayed pesticide").signatures_cleared,
            lambda: services.sign_off(_user(last_id), _visit(visit_id)).id,
        ])
        db.session.expire_all()
        visit = _visit(visit_id)
        signatures = [r.signed_off_at for r in db.session.scalars(
            select(VisitReviewer).where(VisitReviewer.visit_id == visit_id))]
        answer = db.session.scalar(select(VisitAnswer).where(VisitAnswer.visit_id == visit_id,
                                                             VisitAnswer.item_id == item_id))
        if visit.status == VisitStatus.SIGNED:
            assert all(signatures), (results, signatures)
            assert answer.answer == Answer.COMPLIES, results  # what both signed
            assert isinstance(results[0], DomainError), results
        else:
            assert visit.status == VisitStatus.SCHEDULED
            assert answer.answer == Answer.DOES_NOT_COMPLY



def test_a_decision_racing_the_members_removal_never_leaves_a_live_certificate(app, ctx):
    """A coordinator approves a signed visit while another removes the member. Either the removal
    came first (the decision is refused) or the decision did (its certificate ends with the
    membership). Never a removed member holding a verified certificate, which would show again
    the day they were accepted back, without a new visit."""
    for _round in range(ROUNDS):
        group = make_group()
        second = UserFactory()
        db.session.add(GroupCoordinator(group_id=group.id, user_id=second.id, shown_name="Second"))
        db.session.commit()
        membership = add_member(group)
        visit_id, membership_id = signed_visit(group, membership).id, membership.id
        first_id, second_id = coordinator_of(group).id, second.id

        results = run_together(app, [
            lambda: services.decide(_user(first_id), _visit(visit_id), "approved", "Seen on the farm").id,
            lambda: services.remove_member(_user(second_id), db.session.get(Membership, membership_id),
                                           "Left the district").id,
        ])
        db.session.expire_all()
        assert db.session.get(Membership, membership_id).status == MembershipStatus.REMOVED, results
        live = db.session.scalars(select(Certification).where(
            Certification.producer_id == membership.producer_id,
            Certification.status == CertificationStatus.VERIFIED)).all()
        assert live == [], results


def test_two_coordinators_scheduling_one_farm_at_once_schedule_one_visit(app, ctx):
    for _round in range(ROUNDS):
        group = make_group()
        second = UserFactory()
        db.session.add(GroupCoordinator(group_id=group.id, user_id=second.id, shown_name="Second"))
        db.session.commit()
        membership_id = add_member(group).id
        reviewer_ids = [add_member(group).producer.user.id for _ in range(2)]
        coordinators = [coordinator_of(group).id, second.id]

        def scheduling(coordinator_id, reviewer_id):
            return lambda: services.schedule_visit(
                _user(coordinator_id), db.session.get(Membership, membership_id), today(),
                [services.ReviewerChoice(ReviewerRole.MEMBER, user_id=reviewer_id)]).id

        results = run_together(app, [scheduling(coordinators[0], reviewer_ids[0]),
                                     scheduling(coordinators[1], reviewer_ids[1])])
        assert sum(isinstance(r, int) for r in results) == 1, results
        assert all(isinstance(r, DomainError) for r in results if not isinstance(r, int)), results
        assert db.session.scalar(select(func.count()).select_from(Visit).where(
            Visit.membership_id == membership_id, Visit.status == VisitStatus.SCHEDULED)) == 1
