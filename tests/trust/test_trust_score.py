"""Trust score and summary: Bayesian rating, fulfilment that blames only the producer, words."""
from __future__ import annotations

from datetime import timedelta

from flask import render_template_string
from sqlalchemy import event

from marketplace.accounts.models import Role
from marketplace.core.extensions import db
from marketplace.orders.models import LineStatus, OrderStatus
from marketplace.producers.models import Producer
from marketplace.trust import services
from marketplace.trust.models import (
    Certification,
    CertificationScheme,
    CertificationStatus,
    Review,
)
from marketplace.trust.queries import producer_trust, trust_summary_parts
from tests.factories import ProducerFactory, ProductFactory, UserFactory, today
from tests.trust.helpers import make_order


def test_one_five_star_review_does_not_outrank_fifty_reviews_averaging_4_8():
    nothing = services.Fulfilment(0, 0)
    single = services.trust_score(5, 1, nothing)
    fifty = services.trust_score(40 * 5 + 10 * 4, 50, nothing)
    assert fifty > single
    assert services.trust_score(0, 0, nothing) == round(services.PRIOR_RATING * 100)


def test_stored_scores_rank_fifty_good_reviews_above_one_perfect(ctx):
    customer = UserFactory()
    loved, newcomer = ProductFactory(), ProductFactory()
    for rating in [5] * 40 + [4] * 10:
        order = make_order(customer, [loved])
        db.session.add(Review(order_id=order.id, producer_id=loved.producer_id, customer_id=customer.id,
                              rating=rating))
    db.session.commit()
    services.recompute_trust(loved.producer_id)
    order = make_order(customer, [newcomer])
    services.create_review(order, newcomer.producer_id, customer, 5)
    db.session.commit()
    loved_p, new_p = db.session.get(Producer, loved.producer_id), db.session.get(Producer, newcomer.producer_id)
    assert (loved_p.rating_count, loved_p.rating_sum) == (50, 240)
    assert loved_p.trust_score > new_p.trust_score


def test_fulfilment_blames_the_producer_only_for_what_the_producer_did(ctx):
    product = ProductFactory()
    producer = product.producer
    other = ProductFactory()  # another producer's line in the same order is not counted for ours
    customer, organizer = UserFactory(), UserFactory(roles=[Role.ORGANIZER])
    make_order(customer, [product, product, product, other],
               line_statuses=[LineStatus.PACKED, LineStatus.MISSING, LineStatus.CANCELLED, LineStatus.PACKED])
    make_order(customer, [product])                                                  # delivered
    make_order(customer, [product], status=OrderStatus.CANCELLED, cancelled_by=customer)
    make_order(customer, [product], status=OrderStatus.CANCELLED, cancelled_by=organizer)  # market day
    make_order(customer, [product, product], status=OrderStatus.CANCELLED, cancelled_by=producer.user)
    make_order(customer, [product], status=OrderStatus.EXPIRED)
    make_order(customer, [product], status=OrderStatus.NO_SHOW)
    make_order(customer, [product], status=OrderStatus.CONFIRMED)                    # not yet decided
    result = services.fulfilment_of([producer.id])[producer.id]
    assert (result.counted, result.delivered) == (6, 2)
    assert result.percent == 33


def test_summary_in_words_with_plurals(ctx):
    producer = ProducerFactory()
    db.session.add(Certification(producer_id=producer.id, scheme=CertificationScheme.HALAL, issuer="Muftiyat",
                                 valid_from=today(), valid_until=today() + timedelta(days=9),
                                 status=CertificationStatus.VERIFIED))
    producer.rating_count, producer.rating_sum = 23, 106
    db.session.commit()
    parts = trust_summary_parts(producer, services.Fulfilment(150, 146), 2)
    assert " · ".join(parts) == ("4.6 from 23 reviews · 97% of 150 ordered items fulfilled · "
                                 f"2 verified certificates · selling here since {producer.created_at.year}")
    producer.rating_count, producer.rating_sum = 1, 5
    singular = " · ".join(trust_summary_parts(producer, services.Fulfilment(1, 1), 1))
    assert singular.startswith("5.0 from 1 review · 100% of 1 ordered item fulfilled · 1 verified certificate ·")
    assert trust_summary_parts(producer.__class__(rating_count=0, rating_sum=0, created_at=producer.created_at),
                               services.Fulfilment(0, 0), 0)[0] == "No reviews yet"


def test_the_producer_trust_block_uses_few_queries_whatever_the_number_of_reviews(app, ctx):
    product = ProductFactory()
    for _ in range(12):
        customer = UserFactory()
        order = make_order(customer, [product])
        services.create_review(order, product.producer_id, customer, 4, "fine")
    db.session.commit()
    producer = db.session.get(Producer, product.producer_id)
    statements = []

    def count(*_args, **_kwargs):
        statements.append(1)

    with app.test_request_context("/"):
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            html = render_template_string('{% include "trust/_producer_trust.html" %}', producer=producer)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert html.count('class="review"') == 5 and "All 12 reviews" in html
    assert "4.0 from 12 reviews" in html
    assert len(statements) <= 5, len(statements)
    assert producer_trust(producer, 20)["reviews"][0].order.market_day.market.name


def test_handing_over_an_order_updates_the_stored_score_and_invites_a_review(app, ctx, outbox):
    from marketplace.orders.services import hand_over
    from marketplace.producers.models import StockMode
    from tests.factories import MarketDayFactory, add_organizer

    day = MarketDayFactory()
    organizer = UserFactory(roles=[Role.ORGANIZER])
    add_organizer(day.market, organizer)
    # Standing stock, reserved as checkout would have done, so the hand-over's stock update holds.
    product = ProductFactory(stock_mode=StockMode.INVENTORY, inventory_milli=5000, inventory_reserved_milli=2000)
    customer = UserFactory()
    order = make_order(customer, [product, product], market_day=day, status=OrderStatus.READY,
                       line_statuses=[LineStatus.PACKED, LineStatus.MISSING])
    assert db.session.get(Producer, product.producer_id).trust_score == 0  # nothing known yet
    hand_over(order, organizer)
    db.session.commit()
    db.session.expire_all()
    producer = db.session.get(Producer, product.producer_id)
    assert services.fulfilment_of([producer.id])[producer.id] == services.Fulfilment(2, 1)
    assert producer.trust_score == services.trust_score(0, 0, services.Fulfilment(2, 1)) == 367
    invite = outbox(customer.email)
    assert len(invite) == 1
    assert f"/trust/orders/{order.id}/producers/{producer.id}/review" in invite[0].body_text


def test_recompute_trust_command_restores_stored_figures(app, ctx):
    customer = UserFactory()
    product = ProductFactory()
    order = make_order(customer, [product])
    db.session.add(Review(order_id=order.id, producer_id=product.producer_id, customer_id=customer.id, rating=2))
    db.session.commit()  # written behind the services' back: the stored figures are stale
    result = app.test_cli_runner().invoke(args=["recompute-trust"])
    assert result.exit_code == 0 and "Trust recomputed" in result.output
    db.session.expire_all()
    producer = db.session.get(Producer, product.producer_id)
    assert (producer.rating_count, producer.rating_sum) == (1, 2)
    assert producer.trust_score == services.trust_score(2, 1, services.Fulfilment(1, 1))
