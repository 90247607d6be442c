"""Every message template renders in every language, as email (text and HTML) and as Telegram HTML
that Telegram accepts (the stand-in's own parser, which refuses what Telegram refuses)."""
from __future__ import annotations

from datetime import date

import pytest
from flask_babel import force_locale

from marketplace.alerts.services import DaySummary, ProducerBrings
from marketplace.core.extensions import db
from marketplace.notifications.channels import render_telegram
from marketplace.notifications.services import _url_building_context
from marketplace.trust.models import Certification, CertificationScheme
from tests.factories import VendorFactory
from tests.orders.helpers import World, place
from tests.standins.telegram_server import _parse_html

TEMPLATES = ("ordering_open", "order_by", "new_this_week", "order_confirmed", "order_ready", "order_reminder",
             "order_cancelled", "order_changed", "order_pay_at_pickup", "order_no_show", "order_refunded",
             "producer_new_order", "producer_summary", "organizer_certificate", "organizer_vendor_applied")


@pytest.fixture
def context(ctx):
    w = World()
    order = place(w, {w.potatoes: 1500, w.slippers: 1000})
    vendor = VendorFactory(market=w.market, message="Kurt & <ayran>")
    certification = Certification(producer_id=w.farm.id, scheme=CertificationScheme.ORGANIC_THIRD_PARTY,
                                  issuer="Organic <KZ>", valid_from=date(2030, 1, 1), valid_until=date(2032, 1, 1))
    db.session.add(certification)
    db.session.commit()
    return dict(user=w.customer, customer=w.customer, market=w.market, market_day=w.day, producers=2,
                brings=[ProducerBrings(w.farm, ["Honey", "Potatoes"], 3)], order=order, reason="Rain & hail",
                producer=w.farm, lines=order.lines, amount_minor=150000, currency="KZT",
                summary=DaySummary(14, [("Potatoes", "kg", 32_000), ("Honey", "kg", 1500)]),
                certification=certification, vendor=vendor, page_url="http://localhost/x",
                unsubscribe_url="http://localhost/unsubscribe/t", site_url="http://localhost")


@pytest.mark.parametrize("locale", ["en", "ru", "kk", "ky"])
def test_every_template_renders_in_every_language(app, context, locale):
    from flask import render_template

    with _url_building_context(), force_locale(locale):
        for template in TEMPLATES:
            text = render_telegram(template, **context)
            plain, _entities = _parse_html(text)  # raises as Telegram would refuse it
            assert plain.strip() and len(text) < 4096, template
            assert "%(" not in plain, template  # every placeholder filled
            if not template.startswith("order_") or template in ("order_by", "order_ready", "order_refunded"):
                for suffix in ("txt", "html"):
                    body = render_template(f"email/{template}.{suffix}", **context)
                    assert body.strip() and "%(" not in body, (template, suffix)
