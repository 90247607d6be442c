"""Certificates: upload, edit, verification by the right people only, badges, documents, reminders."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import Role
from marketplace.core.errors import InvalidState, NotAllowed
from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.media.models import Document
from marketplace.trust import services
from marketplace.trust.models import (
    Certification,
    CertificationScheme,
    CertificationStatus,
)
from marketplace.trust.queries import active_badges, verification_queue
from tests.factories import (
    MarketFactory,
    ProducerFactory,
    UserFactory,
    VendorFactory,
    add_organizer,
    today,
)
from tests.trust.helpers import tiny_pdf


def _form(**overrides):
    data = {"scheme": "organic_pgs", "issuer": "Talas PGS group", "number": "PGS-17", "scope": "Honey",
            "valid_from": (today() - timedelta(days=10)).isoformat(),
            "valid_until": (today() + timedelta(days=300)).isoformat(),
            "document": (io.BytesIO(tiny_pdf()), "certificate.pdf")}
    data.update(overrides)
    return data


def _certificate(producer, **fields) -> Certification:
    values = dict(scheme=CertificationScheme.ORGANIC_THIRD_PARTY, issuer="Organic Kyrgyzstan", number="OK-1",
                  valid_from=today() - timedelta(days=30), valid_until=today() + timedelta(days=200),
                  status=CertificationStatus.PENDING)
    values.update(fields)
    if "document_id" not in values:
        from marketplace.media.services import save_document

        values["document_id"] = save_document(io.BytesIO(tiny_pdf()), producer.user_id, "cert.pdf").id
    certification = Certification(producer_id=producer.id, **values)
    db.session.add(certification)
    db.session.commit()
    return certification


@pytest.fixture
def world(ctx):
    """A market with an organizer, a vendor producer, another market's organizer, an admin."""
    market = MarketFactory()
    organizer = UserFactory(roles=[Role.ORGANIZER])
    add_organizer(market, organizer)
    producer = ProducerFactory()
    VendorFactory(market=market, producer=producer)
    other_market = MarketFactory()
    stranger = UserFactory(roles=[Role.ORGANIZER])
    add_organizer(other_market, stranger)
    admin = UserFactory(roles=[Role.ADMIN])
    other_producer = ProducerFactory()
    return dict(market=market, organizer=organizer, producer=producer, stranger=stranger, admin=admin,
                other_producer=other_producer, customer=UserFactory())


def _cert_count() -> int:
    return db.session.scalar(select(func.count(Certification.id)))


# --- Upload and edit -----------------------------------------------------------------

def test_producer_uploads_a_certificate_and_sees_it_pending(client, login, world):
    login(world["producer"].user.email)
    response = client.post("/trust/certificates/new", data=_form(), content_type="multipart/form-data")
    assert response.status_code == 302
    certification = db.session.scalar(select(Certification))
    assert certification.status == CertificationStatus.PENDING
    assert (certification.scheme, certification.issuer, certification.number, certification.scope) == (
        CertificationScheme.ORGANIC_PGS, "Talas PGS group", "PGS-17", "Honey")
    assert certification.document.content_type == "application/pdf"
    page = client.get("/trust/certificates").get_data(as_text=True)
    assert "PGS organic" in page and "Waiting for verification" in page


def test_html_named_pdf_is_refused_and_nothing_is_stored(client, login, world):
    login(world["producer"].user.email)
    html = b"<!doctype html><html><script>alert(1)</script></html>"
    response = client.post("/trust/certificates/new", data=_form(document=(io.BytesIO(html), "cert.pdf")),
                           content_type="multipart/form-data")
    assert response.status_code == 200
    assert "Upload the certificate as a PDF, JPEG or PNG file." in response.get_data(as_text=True)
    assert _cert_count() == 0
    assert db.session.scalar(select(func.count(Document.id))) == 0


@pytest.mark.parametrize("field, value, message", [
    ("valid_until", lambda: (today() - timedelta(days=20)).isoformat(), "must not be before its start"),
    ("valid_until", lambda: (today() - timedelta(days=1)).isoformat(), "already expired"),
    ("valid_from", lambda: "not-a-date", "Not a valid date value"),
    ("scheme", lambda: "gold_star", "Not a valid choice"),
    ("issuer", lambda: "", "This field is required"),
])
def test_bad_certificate_fields_are_refused(client, login, world, field, value, message):
    login(world["producer"].user.email)
    data = _form(**{field: value()})
    if field == "valid_until" and "already" in message:
        data["valid_from"] = (today() - timedelta(days=100)).isoformat()
    response = client.post("/trust/certificates/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _cert_count() == 0


def test_every_scheme_can_be_uploaded(ctx, world):
    producer = world["producer"]
    for scheme in CertificationScheme:
        services.upload_certificate(producer, producer.user, scheme=scheme.value, issuer="Issuer",
                                    valid_from=today(), valid_until=today(), stream=io.BytesIO(tiny_pdf()),
                                    filename="c.pdf")
    db.session.commit()
    assert {c.scheme for c in db.session.scalars(select(Certification))} == set(CertificationScheme)
    assert len(CertificationScheme) == 6


def test_service_refuses_an_expired_certificate_and_another_producers_profile(ctx, world):
    producer = world["producer"]
    with pytest.raises(services.CertificateError, match="already expired"):
        services.upload_certificate(producer, producer.user, scheme="halal", issuer="Muftiyat",
                                    valid_from=today() - timedelta(days=9), valid_until=today() - timedelta(days=1),
                                    stream=io.BytesIO(tiny_pdf()), filename="c.pdf")
    with pytest.raises(NotAllowed):
        services.upload_certificate(producer, world["other_producer"].user, scheme="halal", issuer="Muftiyat",
                                    valid_from=today(), valid_until=today(), stream=io.BytesIO(tiny_pdf()),
                                    filename="c.pdf")


def test_editing_a_verified_certificate_puts_it_back_to_pending_and_hides_the_badge(client, login, world):
    producer = world["producer"]
    certification = _certificate(producer, status=CertificationStatus.VERIFIED, decided_by_id=world["admin"].id)
    assert active_badges([producer.id])[producer.id]
    login(producer.user.email)
    data = _form(scheme="organic_third_party", issuer="Organic Kyrgyzstan", number="OK-2")
    data.pop("document")
    response = client.post(f"/trust/certificates/{certification.id}/edit", data=data,
                           content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.expire_all()
    certification = db.session.get(Certification, certification.id)
    assert certification.status == CertificationStatus.PENDING and certification.number == "OK-2"
    assert not active_badges([producer.id])[producer.id]


def test_a_certificate_sent_back_to_pending_no_longer_says_who_decided_it(client, login, world):
    producer = world["producer"]
    certification = _certificate(producer, status=CertificationStatus.VERIFIED, decided_by_id=world["admin"].id,
                                 decided_at=utcnow())
    login(producer.user.email)
    admin_name = world["admin"].name
    assert f"Decided by {admin_name}" in client.get("/trust/certificates").text
    data = _form(scheme="organic_third_party", issuer="Organic Kyrgyzstan", number="OK-2")
    client.post(f"/trust/certificates/{certification.id}/edit", data=data, content_type="multipart/form-data")
    page = client.get("/trust/certificates").text
    # "Awaiting check" beside "Decided by the admin" read as if someone had already checked the new file.
    assert "OK-2" in page and f"Decided by {admin_name}" not in page


def test_a_producer_cannot_edit_or_open_another_producers_certificate(client, login, world):
    certification = _certificate(world["producer"])
    login(world["other_producer"].user.email)
    assert client.get(f"/trust/certificates/{certification.id}/edit").status_code == 404
    data = _form()
    assert client.post(f"/trust/certificates/{certification.id}/edit", data=data,
                       content_type="multipart/form-data").status_code == 404
    assert client.get(f"/trust/certificates/{certification.id}/document").status_code == 404
    assert "Organic Kyrgyzstan" not in client.get("/trust/certificates").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Certification, certification.id).issuer == "Organic Kyrgyzstan"


def test_producer_pages_need_a_producer(client, login, world):
    login(world["customer"].email)
    assert client.get("/trust/certificates").status_code == 404
    assert client.get("/trust/certificates/new").status_code == 404


# --- Documents -----------------------------------------------------------------------

@pytest.mark.parametrize("who, allowed", [("producer", True), ("organizer", True), ("admin", True),
                                          ("stranger", False), ("other_producer", False), ("customer", False),
                                          ("anonymous", False)])
def test_documents_only_for_the_producer_its_organizers_and_admins(client, login, world, who, allowed):
    certification = _certificate(world["producer"])
    if who != "anonymous":
        user = world[who]
        login(getattr(user, "user", user).email)
    response = client.get(f"/trust/certificates/{certification.id}/document")
    if not allowed:
        assert response.status_code == 404
        return
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data == tiny_pdf()


def test_an_organizer_sees_documents_of_producers_who_only_applied(client, login, world):
    from marketplace.markets.models import VendorStatus

    applicant = ProducerFactory()
    VendorFactory(market=world["market"], producer=applicant, status=VendorStatus.APPLIED)
    certification = _certificate(applicant)
    login(world["organizer"].email)
    assert client.get(f"/trust/certificates/{certification.id}/document").status_code == 200


# --- Verification --------------------------------------------------------------------

def test_organizer_verifies_a_vendors_certificate_the_producer_is_emailed_and_the_badge_shows(
        client, login, world, outbox):
    producer = world["producer"]
    certification = _certificate(producer)
    login(world["organizer"].email)
    queue = client.get("/trust/verification").get_data(as_text=True)
    assert producer.name in queue
    response = client.post(f"/trust/verification/{certification.id}", data={"decision": "verify", "reason": ""})
    assert response.status_code == 302
    db.session.expire_all()
    certification = db.session.get(Certification, certification.id)
    assert certification.status == CertificationStatus.VERIFIED
    assert certification.decided_by_id == world["organizer"].id and certification.decided_at is not None
    assert [c.id for c in active_badges([producer.id])[producer.id]] == [certification.id]
    emails = outbox(producer.user.email)
    assert len(emails) == 1 and "was verified" in emails[0].body_text


def test_rejecting_needs_a_reason_which_is_recorded_and_emailed(client, login, world, outbox):
    producer = world["producer"]
    certification = _certificate(producer)
    login(world["admin"].email)
    response = client.post(f"/trust/verification/{certification.id}", data={"decision": "reject", "reason": " "})
    assert response.status_code == 200 and "Say why" in response.get_data(as_text=True)
    assert outbox() == []
    client.post(f"/trust/verification/{certification.id}", data={"decision": "reject", "reason": "Number unreadable"})
    db.session.expire_all()
    certification = db.session.get(Certification, certification.id)
    assert certification.status == CertificationStatus.REJECTED
    assert (certification.decision_reason, certification.decided_by_id) == ("Number unreadable", world["admin"].id)
    assert "Number unreadable" in outbox(producer.user.email)[0].body_text
    assert not active_badges([producer.id])[producer.id]


def test_a_decided_certificate_cannot_be_decided_again(ctx, world):
    certification = _certificate(world["producer"])
    services.verify_certificate(certification, world["organizer"])
    with pytest.raises(InvalidState):
        services.reject_certificate(certification, world["organizer"], "changed my mind")


def test_a_producer_never_verifies_their_own_certificate_even_as_organizer_or_admin(client, login, world):
    producer = world["producer"]
    producer.user.add_role(Role.ORGANIZER)
    producer.user.add_role(Role.ADMIN)
    db.session.commit()
    add_organizer(world["market"], producer.user)
    certification = _certificate(producer)
    assert not services.can_verify(producer.user, certification)
    with pytest.raises(NotAllowed):
        services.verify_certificate(certification, producer.user)
    login(producer.user.email)
    assert producer.name not in client.get("/trust/verification").get_data(as_text=True)
    assert client.get(f"/trust/verification/{certification.id}").status_code == 404
    assert client.post(f"/trust/verification/{certification.id}", data={"decision": "verify"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Certification, certification.id).status == CertificationStatus.PENDING


@pytest.mark.parametrize("who", ["stranger", "customer", "other_producer"])
def test_only_verifiers_of_the_producers_markets_verify(client, login, world, who):
    certification = _certificate(world["producer"])
    user = world[who]
    login(getattr(user, "user", user).email)
    assert client.get(f"/trust/verification/{certification.id}").status_code == 404
    assert client.post(f"/trust/verification/{certification.id}", data={"decision": "verify"}).status_code == 404
    queue = client.get("/trust/verification")
    assert queue.status_code == 404 or world["producer"].name not in queue.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Certification, certification.id).status == CertificationStatus.PENDING


def test_queue_lists_only_pending_of_own_markets_for_organizers_and_all_for_admins(ctx, world):
    mine = _certificate(world["producer"])
    elsewhere = _certificate(world["other_producer"])
    _certificate(world["producer"], status=CertificationStatus.VERIFIED)
    organizer_ids = [c.id for c in verification_queue(world["organizer"], "pending", 1, 50).items]
    admin_ids = [c.id for c in verification_queue(world["admin"], "pending", 1, 50).items]
    assert organizer_ids == [mine.id]
    assert sorted(admin_ids) == sorted([mine.id, elsewhere.id])


def test_verifying_an_expired_pending_certificate_is_refused(ctx, world):
    certification = _certificate(world["producer"], valid_from=today() - timedelta(days=60),
                                 valid_until=today() - timedelta(days=1))
    with pytest.raises(InvalidState):
        services.verify_certificate(certification, world["admin"])


# --- Badges and reminders ------------------------------------------------------------

def test_an_expired_certificates_badge_is_gone_by_itself(ctx, world):
    producer = world["producer"]
    last_day = today() + timedelta(days=5)
    _certificate(producer, status=CertificationStatus.VERIFIED, valid_until=last_day)
    assert active_badges([producer.id], on=last_day)[producer.id]
    assert active_badges([producer.id], on=last_day + timedelta(days=1))[producer.id] == []
    _certificate(world["other_producer"], status=CertificationStatus.VERIFIED,
                 valid_from=today() - timedelta(days=400), valid_until=today() - timedelta(days=1))
    assert active_badges([world["other_producer"].id])[world["other_producer"].id] == []


def test_reminders_go_once_30_days_before_expiry_and_expired_ones_are_marked(app, world, outbox):
    producer = world["producer"]
    soon = _certificate(producer, status=CertificationStatus.VERIFIED, valid_until=today() + timedelta(days=30))
    _certificate(producer, status=CertificationStatus.VERIFIED, valid_until=today() + timedelta(days=31))
    _certificate(producer, status=CertificationStatus.PENDING, valid_until=today() + timedelta(days=3))
    gone = _certificate(producer, status=CertificationStatus.VERIFIED, valid_from=today() - timedelta(days=90),
                        valid_until=today() - timedelta(days=1))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["send-certificate-reminders"])
    assert first.exit_code == 0 and "1 reminder(s) queued, 1 certificate(s) marked expired" in first.output
    second = runner.invoke(args=["send-certificate-reminders"])
    assert "0 reminder(s) queued, 0 certificate(s)" in second.output
    emails = outbox(producer.user.email)
    assert len(emails) == 1 and "expires in 30 days" in emails[0].body_text
    db.session.expire_all()
    assert db.session.get(Certification, gone.id).status == CertificationStatus.EXPIRED
    assert db.session.get(Certification, soon.id).expiry_reminder_sent_at is not None
