"""A certificate decision is bound to the bytes the verifier saw (#18, item 9), and leaves a
security event naming them."""
from __future__ import annotations

import hashlib
import io
import logging
import re
import time
from datetime import timedelta

from sqlalchemy import select

from marketplace.accounts.models import Role, User
from marketplace.core.extensions import db
from marketplace.media.services import save_document
from marketplace.trust import services
from marketplace.trust.models import (
    Certification,
    CertificationScheme,
    CertificationStatus,
)
from tests.concurrency import run_together
from tests.factories import (
    MarketFactory,
    ProducerFactory,
    UserFactory,
    VendorFactory,
    add_organizer,
    today,
)
from tests.media import pdfdata
from tests.trust.helpers import tiny_pdf


def _world():
    market = MarketFactory()
    organizer = UserFactory(roles=[Role.ORGANIZER])
    add_organizer(market, organizer)
    producer = ProducerFactory()
    VendorFactory(market=market, producer=producer)
    document = save_document(io.BytesIO(tiny_pdf()), producer.user_id, "cert.pdf")
    certification = Certification(producer_id=producer.id, scheme=CertificationScheme.ORGANIC_THIRD_PARTY,
                                  issuer="Organic Kyrgyzstan", number="OK-1", valid_from=today() - timedelta(days=30),
                                  valid_until=today() + timedelta(days=200), document_id=document.id,
                                  status=CertificationStatus.PENDING)
    db.session.add(certification)
    db.session.commit()
    return organizer, producer, certification


def test_the_decision_stores_the_sha256_of_the_document_shown(client, login, ctx, caplog):
    caplog.set_level(logging.INFO, logger="aimak")
    organizer, _producer, certification = _world()
    login(organizer.email)
    page = client.get(f"/trust/verification/{certification.id}").get_data(as_text=True)
    shown = re.search(r'name="document_sha256" type="hidden" value="([0-9a-f]{64})"', page).group(1)
    assert shown == certification.document.sha256 and shown in page.replace(f'value="{shown}"', "")
    response = client.post(f"/trust/verification/{certification.id}",
                           data={"decision": "verify", "reason": "", "document_sha256": shown})
    assert response.status_code == 302
    db.session.expire_all()
    decided = db.session.get(Certification, certification.id)
    assert decided.status == CertificationStatus.VERIFIED and decided.decided_sha256 == shown
    [event] = [r for r in caplog.records if getattr(r, "event", "") == "certificate_decided"]
    assert event.outcome == "verified" and event.document_sha256 == shown and event.user_id == organizer.id


def test_a_document_replaced_while_the_verifier_looked_is_not_verified(client, login, ctx):
    organizer, producer, certification = _world()
    login(organizer.email)
    page = client.get(f"/trust/verification/{certification.id}").get_data(as_text=True)
    seen = re.search(r'name="document_sha256" type="hidden" value="([0-9a-f]{64})"', page).group(1)
    # The producer swaps the file (the certificate stays pending).
    certification.document_id = save_document(io.BytesIO(pdfdata.plain_pdf(pages=2)), producer.user_id, "new.pdf").id
    db.session.commit()
    response = client.post(f"/trust/verification/{certification.id}",
                           data={"decision": "verify", "reason": "", "document_sha256": seen}, follow_redirects=True)
    assert "The document changed while you were looking at it" in response.get_data(as_text=True)
    assert db.session.scalar(select(Certification.status).where(Certification.id == certification.id)) \
        == CertificationStatus.PENDING


def test_a_document_replaced_during_the_decision_is_never_verified(ctx, app):
    """Found by attacking #18 on PostgreSQL: the verifier's page showed file X; the producer
    replaced it with Y and the verifier's decision ran while that change was uncommitted. The
    decision checked X against its own stale read, then its update waited for the producer's
    and went through: the certificate stood verified with Y, a file nobody had looked at."""
    organizer, producer, certification = _world()
    cert_id, organizer_id, seen = certification.id, organizer.id, certification.document.sha256
    replacement = pdfdata.plain_pdf(pages=2)

    def replace():
        mine = db.session.get(Certification, cert_id)
        services.update_certificate(mine, mine.producer.user, scheme=mine.scheme, issuer=mine.issuer,
                                    valid_from=mine.valid_from, valid_until=mine.valid_until,
                                    stream=io.BytesIO(replacement), filename="new.pdf")
        time.sleep(0.8)  # written, not yet committed, while the verifier decides

    def decide():
        theirs = db.session.get(Certification, cert_id)
        assert theirs.document.sha256 == seen  # what the verifier's page showed
        time.sleep(0.3)
        services.verify_certificate(theirs, db.session.get(User, organizer_id), seen_sha256=seen)

    results = run_together(app, [replace, decide])
    decided = db.session.get(Certification, cert_id)
    assert decided.document.sha256 == hashlib.sha256(replacement).hexdigest(), results
    # Either the decision came first and the replacement sent it back to pending, or it came
    # second and was refused (PostgreSQL: it waits for the producer's row, then sees Y).
    assert decided.status == CertificationStatus.PENDING, results


def test_a_decision_made_while_the_producer_was_editing_is_sent_back_to_pending(ctx, app):
    """Found when CI's machine was slow: the producer's edit page read the certificate as
    pending, the verifier's decision committed, then the edit wrote. Setting status to the
    PENDING it had read was no change to the ORM, so the UPDATE left 'verified' standing on
    the new file."""
    organizer, _producer, certification = _world()
    cert_id, organizer_id, seen = certification.id, organizer.id, certification.document.sha256
    replacement = pdfdata.plain_pdf(pages=2)

    def replace_after_reading():
        mine = db.session.get(Certification, cert_id)
        assert mine.status == CertificationStatus.PENDING  # what the producer's form was built from
        time.sleep(0.8)  # the verifier decides and commits meanwhile
        services.update_certificate(mine, mine.producer.user, scheme=mine.scheme, issuer=mine.issuer,
                                    valid_from=mine.valid_from, valid_until=mine.valid_until,
                                    stream=io.BytesIO(replacement), filename="new.pdf")

    def decide_at_once():
        time.sleep(0.2)  # just after the producer's page read the certificate
        theirs = db.session.get(Certification, cert_id)
        services.verify_certificate(theirs, db.session.get(User, organizer_id), seen_sha256=seen)

    results = run_together(app, [replace_after_reading, decide_at_once])
    decided = db.session.get(Certification, cert_id)
    assert decided.document.sha256 == hashlib.sha256(replacement).hexdigest(), results
    # PostgreSQL: the decision commits first and the edit sends it back. SQLite: the edit's
    # transaction holds the write lock from its first read, so the decision waits and is refused.
    assert decided.status == CertificationStatus.PENDING, results
