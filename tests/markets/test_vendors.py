"""Vendor applications: approve, reject with a reason, suspend, reinstate; the producer is told once."""
import threading

import pytest

from marketplace.core.errors import InvalidState, NotAllowed
from marketplace.core.extensions import db
from marketplace.markets import services
from marketplace.markets.models import Vendor, VendorStatus
from marketplace.markets.services import VendorAction
from tests.factories import MarketFactory, UserFactory, VendorFactory, add_organizer

S = VendorStatus
A = VendorAction


@pytest.fixture
def market_and_organizer(ctx):
    organizer = UserFactory(roles=["organizer"])
    market = MarketFactory(name="Bishkek organic fair", address="Toktogul 125")
    add_organizer(market, organizer)
    return market, organizer


@pytest.mark.parametrize("start,action,allowed,result", [
    (S.APPLIED, A.APPROVE, True, S.APPROVED),
    (S.APPLIED, A.REJECT, True, S.REJECTED),
    (S.APPLIED, A.SUSPEND, False, None),
    (S.APPLIED, A.REINSTATE, False, None),
    (S.APPROVED, A.APPROVE, False, None),
    (S.APPROVED, A.REJECT, False, None),
    (S.APPROVED, A.SUSPEND, True, S.SUSPENDED),
    (S.APPROVED, A.REINSTATE, False, None),
    (S.REJECTED, A.APPROVE, True, S.APPROVED),
    (S.REJECTED, A.SUSPEND, False, None),
    (S.SUSPENDED, A.REINSTATE, True, S.APPROVED),
    (S.SUSPENDED, A.APPROVE, False, None),
    (S.SUSPENDED, A.REJECT, False, None),
])
def test_transitions(market_and_organizer, outbox, start, action, allowed, result):
    market, organizer = market_and_organizer
    vendor = VendorFactory(market=market, status=start)
    if allowed:
        services.decide_vendor(organizer, vendor, action, reason="Reason given")
        db.session.commit()
        assert db.session.get(Vendor, vendor.id).status == result
        assert len(outbox(vendor.producer.user.email)) == 1
    else:
        with pytest.raises(InvalidState):
            services.decide_vendor(organizer, vendor, action, reason="Reason given")
        db.session.rollback()
        assert db.session.get(Vendor, vendor.id).status == start
        assert outbox() == []


def test_approve_with_stall_emails_the_producer(market_and_organizer, outbox):
    market, organizer = market_and_organizer
    vendor = VendorFactory(market=market, status=S.APPLIED)
    services.decide_vendor(organizer, vendor, "approve", stall="B-12")
    db.session.commit()
    assert vendor.stall == "B-12" and vendor.decided_by_id == organizer.id
    [email] = outbox()
    assert email.to == vendor.producer.user.email
    assert "Bishkek organic fair" in email.subject and "B-12" in email.body_text


def test_reject_and_suspend_need_a_reason_which_the_producer_reads(market_and_organizer, outbox):
    market, organizer = market_and_organizer
    vendor = VendorFactory(market=market, status=S.APPLIED)
    with pytest.raises(services.MarketError) as info:
        services.decide_vendor(organizer, vendor, "reject", reason="  ")
    assert info.value.field == "reason"
    db.session.rollback()
    services.decide_vendor(organizer, vendor, "reject", reason="We are full this season")
    db.session.commit()
    assert "We are full this season" in outbox()[0].body_text
    approved = VendorFactory(market=market, status=S.APPROVED)
    with pytest.raises(services.MarketError):
        services.decide_vendor(organizer, approved, "suspend")


def test_suspend_then_reinstate_emails_each_decision(market_and_organizer, outbox):
    market, organizer = market_and_organizer
    vendor = VendorFactory(market=market, status=S.APPROVED)
    services.decide_vendor(organizer, vendor, "suspend", reason="Sold resold goods")
    db.session.commit()
    services.decide_vendor(organizer, vendor, "reinstate")
    db.session.commit()
    services.decide_vendor(organizer, vendor, "suspend", reason="Again")
    db.session.commit()
    assert [e.template for e in outbox()] == ["vendor_decision"] * 3


def test_two_organizers_approving_at_once_change_it_once(app, market_and_organizer, outbox):
    market, organizer = market_and_organizer
    second = UserFactory(roles=["organizer"])
    add_organizer(market, second)
    vendor_id = VendorFactory(market=market, status=S.APPLIED).id
    user_ids = [organizer.id, second.id]
    results = []
    barrier = threading.Barrier(2)

    def approve(user_id):
        with app.app_context(), app.test_request_context("/"):
            from marketplace.accounts.models import User

            user, vendor = db.session.get(User, user_id), db.session.get(Vendor, vendor_id)
            db.session.commit()  # do not hold SQLite's write lock while waiting for the other
            barrier.wait()
            try:
                services.decide_vendor(user, vendor, "approve")
                db.session.commit()
                results.append("ok")
            except InvalidState:
                db.session.rollback()
                results.append("refused")

    threads = [threading.Thread(target=approve, args=(uid,)) for uid in user_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok", "refused"]
    assert len(outbox()) == 1


def test_other_organizers_cannot_decide(market_and_organizer):
    market, _ = market_and_organizer
    vendor = VendorFactory(market=market, status=S.APPLIED)
    with pytest.raises(NotAllowed):
        services.decide_vendor(UserFactory(roles=["organizer"]), vendor, "approve")
    with pytest.raises(NotAllowed):
        services.set_stall(UserFactory(roles=["producer"]), vendor, "A1")
