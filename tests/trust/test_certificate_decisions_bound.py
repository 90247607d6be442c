"""A certificate decision is bound to the bytes the verifier saw (#18, item 9), and leaves a
security event naming them."""
from __future__ import annotations

import io
import logging
import re
from datetime import timedelta

from sqlalchemy import select

from marketplace.accounts.models import Role
from marketplace.core.extensions import db
from marketplace.media.services import save_document
from marketplace.trust.models import (
    Certification,
    CertificationScheme,
    CertificationStatus,
)
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
