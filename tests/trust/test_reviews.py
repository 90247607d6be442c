"""Reviews: only after a real pickup, once per order and producer, escaped; replies, reports, moderation."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.models import Role
from marketplace.core.errors import NotAllowed
from marketplace.core.extensions import db
from marketplace.orders.models import OrderStatus
from marketplace.producers.models import Producer
from marketplace.trust import services
from marketplace.trust.models import Review, ReviewReport, ReviewStatus
from tests.factories import ProductFactory, UserFactory
from tests.trust.helpers import days_ago, make_order


@pytest.fixture
def sale(ctx):
    """A customer's picked-up order with products of two producers."""
    customer = UserFactory()
    first, second = ProductFactory(), ProductFactory()
    order = make_order(customer, [first, second])
    return dict(customer=customer, order=order, producer=first.producer, second=second.producer,
                admin=UserFactory(roles=[Role.ADMIN]), stranger=UserFactory())


def _review_url(sale, producer=None):
    return f"/trust/orders/{sale['order'].id}/producers/{(producer or sale['producer']).id}/review"


def _reviews() -> int:
    return db.session.scalar(select(func.count(Review.id)))


def test_customer_reviews_each_producer_of_a_picked_up_order(client, login, sale):
    login(sale["customer"].email)
    assert client.get("/trust/reviews/write").get_data(as_text=True).count("Write a review") == 2
    response = client.post(_review_url(sale), data={"rating": "4", "text": "Sweet honey"})
    assert response.status_code == 302
    assert client.post(_review_url(sale, sale["second"]), data={"rating": "5"}).status_code == 302
    db.session.expire_all()
    producer = db.session.get(Producer, sale["producer"].id)
    assert (producer.rating_count, producer.rating_sum) == (1, 4)
    page = client.get(f"/trust/producers/{producer.slug}/reviews").get_data(as_text=True)
    assert "Sweet honey" in page and "4.0 from 1 review" in page
    assert sale["order"].market_day.market.name in page  # the review's market day is shown


def test_a_second_review_of_the_same_order_and_producer_is_refused(client, login, sale):
    login(sale["customer"].email)
    client.post(_review_url(sale), data={"rating": "5", "text": "first"})
    response = client.post(_review_url(sale), data={"rating": "1", "text": "second"})
    assert response.status_code == 409
    assert "already reviewed this producer" in response.get_data(as_text=True)
    assert _reviews() == 1
    assert db.session.scalar(select(Review.text)) == "first"


def test_the_database_itself_refuses_a_duplicate_review(ctx, sale):
    order, producer = sale["order"], sale["producer"]
    db.session.add(Review(order_id=order.id, producer_id=producer.id, customer_id=order.customer_id, rating=5))
    db.session.commit()
    db.session.add(Review(order_id=order.id, producer_id=producer.id, customer_id=order.customer_id, rating=1))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize("status", [OrderStatus.CONFIRMED, OrderStatus.READY, OrderStatus.CANCELLED,
                                    OrderStatus.NO_SHOW, OrderStatus.EXPIRED, OrderStatus.PENDING_PAYMENT])
def test_a_review_of_an_order_not_picked_up_is_refused(client, login, ctx, status):
    customer = UserFactory()
    product = ProductFactory()
    order = make_order(customer, [product], status=status)
    login(customer.email)
    url = f"/trust/orders/{order.id}/producers/{product.producer_id}/review"
    assert "once you have picked up" in client.get(url).get_data(as_text=True)
    response = client.post(url, data={"rating": "5", "text": "great"})
    assert response.status_code == 409
    assert _reviews() == 0


def test_reviews_close_30_days_after_pickup(ctx, sale):
    customer = sale["customer"]
    late = make_order(customer, [ProductFactory()], picked_up_at=days_ago(31))
    just_in_time = make_order(customer, [ProductFactory()], picked_up_at=days_ago(29))
    with pytest.raises(services.ReviewError, match="30 days"):
        services.create_review(late, late.lines[0].producer_id, customer, 5)
    services.create_review(just_in_time, just_in_time.lines[0].producer_id, customer, 5)


def test_only_the_orders_customer_and_only_its_producers(client, login, ctx, sale):
    with pytest.raises(services.ReviewError, match="own orders"):
        services.create_review(sale["order"], sale["producer"].id, sale["stranger"], 5)
    outsider = ProductFactory().producer
    with pytest.raises(services.ReviewError, match="not part of the order"):
        services.create_review(sale["order"], outsider.id, sale["customer"], 5)
    login(sale["stranger"].email)
    assert client.get(_review_url(sale)).status_code == 404
    assert client.post(_review_url(sale), data={"rating": "5"}).status_code == 404
    assert _reviews() == 0


@pytest.mark.parametrize("rating", [0, 6, "5"])
def test_rating_must_be_1_to_5(ctx, sale, rating):
    with pytest.raises(services.ReviewError):
        services.create_review(sale["order"], sale["producer"].id, sale["customer"], rating)


def test_rating_out_of_range_in_the_form_changes_nothing(client, login, sale):
    login(sale["customer"].email)
    response = client.post(_review_url(sale), data={"rating": "7", "text": "x"})
    assert response.status_code == 200 and "Not a valid choice" in response.get_data(as_text=True)
    assert _reviews() == 0


def test_review_text_is_length_limited(ctx, sale):
    with pytest.raises(services.ReviewError, match="under 2000"):
        services.create_review(sale["order"], sale["producer"].id, sale["customer"], 4, "x" * 2001)


def test_script_in_a_review_is_shown_as_text(client, login, sale):
    login(sale["customer"].email)
    client.post(_review_url(sale), data={"rating": "3", "text": '<script>alert("x")</script><b>bold</b>'})
    page = client.get(f"/trust/producers/{sale['producer'].slug}/reviews").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in page
    assert "<script>alert" not in page and "<b>bold" not in page


def test_two_simultaneous_reviews_make_one(app, sale):
    order_id, producer_id, customer_id = sale["order"].id, sale["producer"].id, sale["customer"].id
    # Both threads start together; on SQLite the write lock serialises them (the second sees
    # the first review), on PostgreSQL both may pass the check and the unique constraint decides.
    results, barrier = [], threading.Barrier(2, timeout=30)

    def submit(text):
        from marketplace.accounts.models import User
        from marketplace.orders.models import Order

        barrier.wait()
        with app.app_context():
            order, customer = db.session.get(Order, order_id), db.session.get(User, customer_id)
            try:
                services.create_review(order, producer_id, customer, 5, text)
                db.session.commit()
                results.append("ok")
            except (services.ReviewError, IntegrityError):
                db.session.rollback()
                results.append("refused")
            except Exception as exc:  # noqa: BLE001 - SQLite may report the lock; the rule must still hold
                db.session.rollback()
                results.append(type(exc).__name__)

    threads = [threading.Thread(target=submit, args=(t,)) for t in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("ok") == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(Review.id))) == 1
        assert db.session.get(Producer, producer_id).rating_count == 1


# --- Replies -------------------------------------------------------------------------

def test_the_producer_is_emailed_and_replies_once(client, login, sale, outbox):
    review = services.create_review(sale["order"], sale["producer"].id, sale["customer"], 2, "late <b>")
    db.session.commit()
    email = outbox(sale["producer"].user.email)[0]
    assert "2 stars" in email.body_text and "/trust/my-reviews" in email.body_text
    assert "late &lt;b&gt;" in email.body_html  # the customer's text is escaped in the email too
    login(sale["producer"].user.email)
    assert "late" in client.get("/trust/my-reviews").get_data(as_text=True)
    client.post(f"/trust/reviews/{review.id}/reply", data={"text": "Sorry, the road was closed."})
    response = client.post(f"/trust/reviews/{review.id}/reply", data={"text": "Second try"}, follow_redirects=True)
    assert "already replied" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Review, review.id).reply == "Sorry, the road was closed."
    public = client.get(f"/trust/producers/{sale['producer'].slug}/reviews").get_data(as_text=True)
    assert "Sorry, the road was closed." in public


def test_another_producer_cannot_reply(client, login, sale):
    review = services.create_review(sale["order"], sale["producer"].id, sale["customer"], 2, "late")
    db.session.commit()
    login(sale["second"].user.email)
    assert client.post(f"/trust/reviews/{review.id}/reply", data={"text": "Not mine"}).status_code == 404
    with pytest.raises(NotAllowed):
        services.reply_to_review(review, sale["second"].user, "Not mine")
    db.session.expire_all()
    assert db.session.get(Review, review.id).reply == ""


# --- Reports and moderation ----------------------------------------------------------

def test_anyone_logged_in_reports_and_an_admin_hides_with_a_reason(client, login, sale):
    review = services.create_review(sale["order"], sale["producer"].id, sale["customer"], 1, "Rude words")
    db.session.commit()
    assert client.get(f"/trust/reviews/{review.id}/report").status_code == 302  # log in first
    login(sale["stranger"].email)
    client.post(f"/trust/reviews/{review.id}/report", data={"reason": "Insults"})
    client.post(f"/trust/reviews/{review.id}/report", data={"reason": "Again"})
    assert db.session.scalar(select(func.count(ReviewReport.id))) == 1  # one open report per person
    assert client.get("/trust/moderation").status_code == 404

    client.post("/logout")
    login(sale["admin"].email)
    queue = client.get("/trust/moderation").get_data(as_text=True)
    assert "Rude words" in queue and "Insults" in queue
    response = client.post(f"/trust/moderation/reviews/{review.id}", data={"action": "hide", "reason": ""},
                           follow_redirects=True)
    assert "Say why the review is hidden." in response.get_data(as_text=True)
    client.post(f"/trust/moderation/reviews/{review.id}", data={"action": "hide", "reason": "Insults"})
    db.session.expire_all()
    review = db.session.get(Review, review.id)
    assert (review.status, review.hidden_reason) == (ReviewStatus.HIDDEN, "Insults")
    assert db.session.get(Producer, sale["producer"].id).rating_count == 0
    assert db.session.scalar(select(ReviewReport.resolved_at)) is not None
    public = client.get(f"/trust/producers/{sale['producer'].slug}/reviews").get_data(as_text=True)
    assert "Rude words" not in public

    client.post(f"/trust/moderation/reviews/{review.id}", data={"action": "unhide", "reason": "Appeal accepted"})
    db.session.expire_all()
    assert db.session.get(Review, review.id).status == ReviewStatus.PUBLISHED
    assert db.session.get(Producer, sale["producer"].id).rating_count == 1


@pytest.mark.parametrize("who", ["customer", "stranger", "producer"])
def test_non_admins_cannot_moderate(client, login, sale, who):
    review = services.create_review(sale["order"], sale["producer"].id, sale["customer"], 1, "x")
    db.session.commit()
    user = sale[who]
    login(getattr(user, "user", user).email)
    assert client.post(f"/trust/moderation/reviews/{review.id}",
                       data={"action": "hide", "reason": "mine"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Review, review.id).status == ReviewStatus.PUBLISHED


def test_a_hidden_review_cannot_be_reported(client, login, sale):
    review = services.create_review(sale["order"], sale["producer"].id, sale["customer"], 1, "x")
    services.hide_review(review, sale["admin"], "spam")
    db.session.commit()
    login(sale["stranger"].email)
    assert client.post(f"/trust/reviews/{review.id}/report", data={"reason": "x"}).status_code == 404


def test_a_producer_cannot_review_their_own_shop_from_an_order_of_their_own(client, login, ctx):
    """Nothing stops a producer from buying at their own stall; the five stars they then give
    themselves would lift their own rating and trust score."""
    product = ProductFactory()
    owner = product.producer.user
    order = make_order(owner, [product])
    login(owner.email)
    assert "Write a review" not in client.get("/trust/reviews/write").get_data(as_text=True)
    response = client.post(f"/trust/orders/{order.id}/producers/{product.producer.id}/review",
                           data={"rating": "5", "text": "Best honey in Talas"})
    assert response.status_code == 409 and "your own" in response.get_data(as_text=True)
    assert _reviews() == 0
