"""Group pages through HTTP, from the attacker's side too: other groups' and other users' ids are
404 and change nothing; the checklist saves one item at a time (JSON) or the whole form (no JS)."""
from __future__ import annotations

import io

from sqlalchemy import func, select

from marketplace.core.extensions import db
from marketplace.core.locale import format_day
from marketplace.groups import services
from marketplace.groups.models import (
    Answer,
    Decision,
    Membership,
    MembershipStatus,
    Standard,
    Visit,
    VisitAnswer,
    VisitPhoto,
    VisitStatus,
)
from tests.factories import MarketFactory, ProducerFactory, UserFactory, add_organizer
from tests.groups.helpers import (
    add_member,
    approved_member,
    coordinator_of,
    make_group,
    scheduled_visit,
    signed_visit,
)
from tests.media.imagedata import picture

JSON = {"Accept": "application/json"}


def _status(membership_id):
    db.session.expire_all()
    return db.session.get(Membership, membership_id).status


def test_public_pages_and_the_record_behind_a_badge(client, ctx):
    group = make_group("Talas")
    membership, decision = approved_member(group)
    applicant = add_member(group, status=MembershipStatus.APPLIED)
    producer = membership.producer
    page = client.get("/groups/talas").get_data(as_text=True)
    assert producer.name in page and applicant.producer.name not in page
    record = client.get(f"/groups/talas/record/{producer.slug}").get_data(as_text=True)
    assert "Talas" in record and "Standard of Talas" in record and "Approved" in record
    assert decision.valid_until.strftime("%Y") in record and "All good" in record
    reviewer = decision.visit.reviewers[0]
    assert reviewer.user.name not in record and reviewer.user.email not in record  # the role only
    assert "Member of the group" in record
    assert client.get(f"/groups/talas/record/{applicant.producer.slug}").status_code == 404
    assert client.get("/groups/talas/standard").status_code == 200
    assert client.get("/groups/talas/standard/v9").status_code == 404
    for url in ["/groups/nowhere", "/groups/nowhere/record/x", f"/groups/talas/record/{'x' * 300}",
                "/groups/visits/99999999999999999999"]:
        assert client.get(url).status_code == 404, url


def test_a_coordinator_of_another_group_gets_404_and_changes_nothing(client, login, ctx):
    mine, theirs = make_group("Mine"), make_group("Theirs")
    applicant = add_member(theirs, status=MembershipStatus.APPLIED)
    member = add_member(theirs)
    login(coordinator_of(mine).email)
    for url in ["/groups/theirs/manage", "/groups/theirs/edit", "/groups/theirs/standard/edit",
                f"/groups/memberships/{member.id}/visits/new", f"/groups/memberships/{member.id}/history"]:
        assert client.get(url).status_code == 404, url
    response = client.post(f"/groups/memberships/{applicant.id}", data={"action": "accept"})
    assert response.status_code == 404 and _status(applicant.id) == MembershipStatus.APPLIED
    response = client.post(f"/groups/memberships/{member.id}", data={"action": "remove", "reason": "x"})
    assert response.status_code == 404 and _status(member.id) == MembershipStatus.ACTIVE
    assert client.post("/groups/theirs/standard/edit", data={"title": "Mine now", "items": "a"}).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Standard).where(Standard.group_id == theirs.id)) == 1


def test_a_coordinator_runs_the_members_through_the_dashboard(client, login, ctx, outbox):
    group = make_group("Talas")
    applicant = add_member(group, status=MembershipStatus.APPLIED)
    login(coordinator_of(group).email)
    page = client.get("/groups/talas/manage").get_data(as_text=True)
    assert applicant.producer.name in page
    client.post(f"/groups/memberships/{applicant.id}", data={"action": "accept"})
    assert _status(applicant.id) == MembershipStatus.ACTIVE
    response = client.post(f"/groups/memberships/{applicant.id}", data={"action": "suspend", "reason": ""})
    assert response.status_code == 302 and _status(applicant.id) == MembershipStatus.ACTIVE  # a reason is needed
    assert client.post(f"/groups/memberships/{applicant.id}", data={"action": "explode"}).status_code == 400


def test_scheduling_with_another_groups_member_or_the_farms_owner_is_refused(client, login, ctx):
    group, other = make_group("Talas"), make_group("Other")
    membership = add_member(group)
    outsider = add_member(other).producer.user
    login(coordinator_of(group).email)
    for user_id in (outsider.id, membership.producer.user_id, "abc", "99999999999999999999"):
        page = client.post(f"/groups/memberships/{membership.id}/visits/new",
                           data={"scheduled_for": "2026-12-20", "member": str(user_id)}).get_data(as_text=True)
        assert "Choose" in page or "own farm" in page
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 0


def test_only_the_visits_people_see_it_and_only_its_reviewers_fill_it_in(client, login, ctx):
    group = make_group()
    membership = add_member(group)
    visit = scheduled_visit(group, membership)
    reviewer = visit.reviewers[0].user
    other_visit = scheduled_visit(group, add_member(group))
    item = db.session.get(Standard, visit.standard_id).items[0]
    other_item = db.session.get(Standard, other_visit.standard_id).items[0]
    stranger = UserFactory()
    login(stranger.email)
    assert client.get(f"/groups/visits/{visit.id}").status_code == 404
    assert client.post(f"/groups/visits/{visit.id}/items/{item.id}", data={f"answer-{item.id}": "complies"},
                       headers=JSON).status_code == 404
    client.post("/logout")
    login(membership.producer.user.email)  # the farm's own producer: may look, may not answer
    page = client.get(f"/groups/visits/{visit.id}").get_data(as_text=True)
    assert 'id="visit-form"' not in page
    assert client.post(f"/groups/visits/{visit.id}/items/{item.id}", data={f"answer-{item.id}": "complies"},
                       headers=JSON).status_code == 404
    client.post("/logout")
    login(reviewer.email)
    assert client.get(f"/groups/visits/{other_visit.id}").status_code == 404  # reviews another visit only
    assert client.post(f"/groups/visits/{other_visit.id}/items/{other_item.id}",
                       data={f"answer-{other_item.id}": "complies"}, headers=JSON).status_code == 404
    # An item of another group's standard in this visit's URL is not found either.
    stray = make_group()
    stray_item = db.session.scalar(select(Standard).where(Standard.group_id == stray.id)).items[0]
    assert client.post(f"/groups/visits/{visit.id}/items/{stray_item.id}",
                       data={f"answer-{stray_item.id}": "complies"}, headers=JSON).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(VisitAnswer)) == 0


def test_the_checklist_saves_item_by_item_with_javascript_and_as_a_form_without(client, login, ctx):
    group = make_group(items=3)
    visit = scheduled_visit(group, add_member(group))
    items = db.session.get(Standard, visit.standard_id).items
    login(visit.reviewers[0].user.email)
    page = client.get(f"/groups/visits/{visit.id}").get_data(as_text=True)
    assert 'id="visit-form"' in page and "js/groups.js" in page and "<script>" not in page
    response = client.post(f"/groups/visits/{visit.id}/items/{items[0].id}",
                           data={f"answer-{items[0].id}": "complies", f"note-{items[0].id}": "Compost"}, headers=JSON)
    assert response.status_code == 200 and response.json["ok"] and response.json["answer"] == "complies"
    # The same item sent again after a dropped connection changes nothing.
    again = client.post(f"/groups/visits/{visit.id}/items/{items[0].id}",
                        data={f"answer-{items[0].id}": "complies", f"note-{items[0].id}": "Compost"}, headers=JSON)
    assert again.json["ok"]
    refused = client.post(f"/groups/visits/{visit.id}/items/{items[1].id}",
                          data={f"answer-{items[1].id}": "perhaps"}, headers=JSON)
    assert refused.status_code == 409 and refused.json["ok"] is False and refused.json["error"]
    # Without JavaScript: the whole form, every answered item saved, back to the next item.
    response = client.post(f"/groups/visits/{visit.id}/answers",
                           data={f"answer-{items[1].id}": "not", f"note-{items[1].id}": "Sprayer in the shed",
                                 f"answer-{items[2].id}": "na", "next": str(items[2].id)})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#item-{items[2].id}")
    answers = {a.item_id: a for a in db.session.scalars(select(VisitAnswer).where(VisitAnswer.visit_id == visit.id))}
    assert [answers[i.id].answer for i in items] == [Answer.COMPLIES, Answer.DOES_NOT_COMPLY, Answer.NOT_APPLICABLE]
    assert answers[items[0].id].note == "Compost" and answers[items[1].id].note == "Sprayer in the shed"


def test_photos_upload_once_and_hostile_files_change_nothing(client, login, ctx):
    group = make_group()
    visit = scheduled_visit(group, add_member(group))
    item = db.session.get(Standard, visit.standard_id).items[0]
    login(visit.reviewers[0].user.email)
    url = f"/groups/visits/{visit.id}/items/{item.id}/photos"
    for _ in range(2):  # a retry after a dropped connection
        response = client.post(url, data={"upload_key": "phone-key-123456", "photo": (io.BytesIO(picture("JPEG")), "a.jpg")},
                               headers=JSON, content_type="multipart/form-data")
        assert response.status_code == 200 and response.json["url"].startswith("/media/")
    for name, body in [("shell.php.jpg", b"<?php echo 1; ?>"), ("x.svg", b"<svg onload=alert(1)>"),
                       ("big.png", picture("PNG", size=(12000, 12000)))]:
        response = client.post(url, data={"upload_key": "phone-key-999999", "photo": (io.BytesIO(body), name)},
                               headers=JSON, content_type="multipart/form-data")
        assert response.status_code == 409 and response.json["error"], name
    response = client.post(url, data={"upload_key": "x", "photo": (io.BytesIO(picture("JPEG")), "a.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(VisitPhoto)) == 1


def test_signing_and_the_decision_through_the_pages_once_and_by_a_coordinator_only(client, login, ctx, outbox):
    group = make_group("Talas")
    membership = add_member(group)
    visit = signed_visit(group, membership)
    reviewer = visit.reviewers[0].user
    data = {"outcome": "approved", "reasons": "Everything complies", "valid_until": "2027-10-01"}
    login(reviewer.email)
    assert client.post(f"/groups/visits/{visit.id}/decision", data=data).status_code == 404
    client.post("/logout")
    login(coordinator_of(make_group()).email)
    assert client.post(f"/groups/visits/{visit.id}/decision", data=data).status_code == 404
    client.post("/logout")
    login(coordinator_of(group).email)
    page = client.get(f"/groups/visits/{visit.id}").get_data(as_text=True)
    assert "Record the decision" in page
    first = client.post(f"/groups/visits/{visit.id}/decision", data=data)
    assert first.status_code == 302 and "/record/" in first.headers["Location"]
    second = client.post(f"/groups/visits/{visit.id}/decision", data=dict(data, outcome="refused"))
    assert second.status_code == 400
    decisions = db.session.scalars(select(Decision)).all()
    assert len(decisions) == 1 and decisions[0].decided_by_id == coordinator_of(group).id
    assert db.session.get(Visit, visit.id).status == VisitStatus.DECIDED


def test_admin_and_organizer_pages_are_theirs_alone(client, login, ctx):
    group = make_group("Talas")
    market, other_market = MarketFactory(), MarketFactory()
    organizer = UserFactory(roles=["organizer"])
    add_organizer(market, organizer)
    login(coordinator_of(group).email)
    assert client.get("/groups/admin").status_code == 404
    assert client.get("/groups/admin/talas").status_code == 404
    assert client.post(f"/groups/admin/talas/coordinators/{coordinator_of(group).id}/remove").status_code == 404
    client.post("/logout")
    login(organizer.email)
    assert client.get("/groups/markets").status_code == 200
    assert client.post(f"/groups/markets/{other_market.id}/groups/{group.id}", data={"recognised": "1"}).status_code == 404
    assert client.post(f"/groups/markets/{market.id}/groups/{group.id}", data={"recognised": "1"}).status_code == 302


def test_a_producer_applies_and_leaves_only_their_own_memberships(client, login, ctx):
    group = make_group("Talas")
    producer = ProducerFactory()
    someone_elses = add_member(group)
    login(producer.user.email)
    response = client.post("/groups/talas/apply", data={"message": "Beans"})
    assert response.status_code == 302
    assert db.session.scalar(select(Membership.status).where(Membership.producer_id == producer.id)) == \
        MembershipStatus.APPLIED
    assert client.post(f"/groups/memberships/{someone_elses.id}/leave").status_code == 404
    assert _status(someone_elses.id) == MembershipStatus.ACTIVE


def test_a_suspended_member_shows_since_when_it_is_suspended_not_since_when_it_joined(client, login, ctx):
    # Found trying the demo: "Suspended since 30 Dec 2024" for a member suspended today.
    group = make_group("Talas")
    member = add_member(group, since_days=400)
    joined = member.member_since.date()
    services.suspend_member(coordinator_of(group), member, "A complaint to look into")
    db.session.commit()
    login(coordinator_of(group).email)
    page = client.get("/groups/talas/manage").get_data(as_text=True)
    card = page[page.index(f'id="membership-{member.id}"'):]
    card = card[:card.index("</li>")]
    assert "Suspended" in card and f"since {format_day(member.decided_at.date(), 'd MMM yyyy')}" in card
    assert format_day(joined, "d MMM yyyy") not in card


def test_withdrawing_an_application_is_not_said_to_take_a_badge_away(client, login, ctx):
    group = make_group("Talas")
    applicant = add_member(group, status=MembershipStatus.APPLIED)
    login(applicant.producer.user.email)
    page = client.get("/groups/mine").get_data(as_text=True)
    assert "Withdraw your application to this group?" in page
    assert "Your badge of this group disappears at once" not in page
