"""Public trust pages: old district links, the formula, the producer page's trust block."""
from __future__ import annotations

from datetime import timedelta

from marketplace.core.extensions import db
from marketplace.trust import services
from marketplace.trust.models import (
    Certification,
    CertificationScheme,
    CertificationStatus,
)
from tests.factories import (
    ProducerFactory,
    ProductFactory,
    UserFactory,
    VendorFactory,
    today,
)
from tests.groups.helpers import add_member, approved_member, make_group
from tests.trust.helpers import make_order


def _verified(producer, scheme=CertificationScheme.ORGANIC_DISTRICT, **fields):
    values = dict(issuer="Talas aimak association", valid_from=today() - timedelta(days=5),
                  valid_until=today() + timedelta(days=50), status=CertificationStatus.VERIFIED)
    values.update(fields)
    db.session.add(Certification(producer_id=producer.id, scheme=scheme, **values))
    db.session.commit()


def test_old_district_links_lead_to_the_groups_page(client, ctx):
    make_group("Талас аймагы")
    response = client.get("/districts/talas-aymagy")
    assert response.status_code == 301 and response.headers["Location"].endswith("/groups/talas-aymagy")
    assert client.get("/districts/Талас аймагы").status_code == 301
    assert client.get("/districts/nowhere").status_code == 404


def test_how_it_works_explains_the_formula(client):
    page = client.get("/trust/how-it-works").get_data(as_text=True)
    assert "(5 × 4.0 + sum of ratings)" in page and "fifty reviews averaging 4.8" in page


def test_producer_page_shows_the_trust_summary_and_newest_reviews_first(client, login, ctx):
    if "catalog.producer" not in client.application.view_functions:
        return  # the catalog's producer page includes the block; its own tests cover the page
    product = ProductFactory()
    producer = product.producer
    add_member(make_group("Talas"), producer)
    VendorFactory(producer=producer)  # the catalog lists producers who sell at a market
    for rating, text in [(3, "older review"), (5, "newest review")]:
        customer = UserFactory()
        order = make_order(customer, [product])
        services.create_review(order, producer.id, customer, rating, text)
        db.session.commit()
    page = client.get(f"/producers/{producer.slug}").get_data(as_text=True)
    assert "4.0 from 2 reviews · 100% of 2 ordered items fulfilled · member of Talas" in page
    assert page.index("newest review") < page.index("older review")
    assert 'href="/groups/talas"' in page
    assert "starts from 4.25 stars instead of 4.00: member of Talas (+0.25)." in page


def test_a_customer_with_a_picked_up_order_is_invited_to_review(client, login, ctx):
    product = ProductFactory()
    customer = UserFactory()
    order = make_order(customer, [product])
    login(customer.email)
    page = client.get(f"/trust/producers/{product.producer.slug}/reviews").get_data(as_text=True)
    assert f"/trust/orders/{order.id}/producers/{product.producer_id}/review" in page


def test_absurd_ids_and_pages_are_404_or_empty_not_500(client, login, ctx):
    admin = UserFactory(roles=["admin", "organizer", "producer"])
    ProducerFactory(user=admin)
    login(admin.email)
    huge = "99999999999999999999"
    for url in [f"/trust/certificates/{huge}/edit", f"/trust/certificates/{huge}/document",
                f"/trust/verification/{huge}", f"/trust/orders/{huge}/producers/1/review",
                f"/trust/reviews/{huge}/report", f"/trust/customers/{huge}", "/trust/verification/0",
                "/trust/producers/nobody/reviews", "/trust/verification?status=bogus"]:
        assert client.get(url).status_code == 404, url
    assert client.post(f"/trust/reviews/{huge}/reply", data={"text": "x"}).status_code == 404
    assert client.post(f"/trust/moderation/reviews/{huge}", data={"action": "hide", "reason": "x"}).status_code == 404
    for url in ["/trust/moderation?page=99999999999999999999", "/trust/verification?page=-3",
                "/trust/my-reviews?page=abc"]:
        assert client.get(url).status_code == 200, url


def test_customers_and_producers_see_only_their_own_review_lists(client, login, ctx):
    product = ProductFactory()
    customer, stranger = UserFactory(), UserFactory()
    order = make_order(customer, [product])
    services.create_review(order, product.producer_id, customer, 4, "Secret-ish words")
    db.session.commit()
    rival = ProducerFactory()
    login(rival.user.email)
    assert "Secret-ish words" not in client.get("/trust/my-reviews").get_data(as_text=True)
    client.post("/logout")
    login(stranger.email)
    assert "Write a review" not in client.get("/trust/reviews/write").get_data(as_text=True)


def test_a_group_certificate_badge_links_its_public_record(client, ctx):
    from flask import render_template_string

    from marketplace.trust.queries import active_badges

    group = make_group("Issyk-Kul Aimak")
    membership, _decision = approved_member(group)
    producer = membership.producer
    _verified(producer, issuer="Uploaded district paper")  # an uploaded certificate has no record link
    with client.application.test_request_context("/"):
        html = render_template_string('{% from "trust/macros.html" import badges %}{{ badges(b) }}',
                                      b=active_badges([producer.id])[producer.id])
    assert html.count("/record/") == 1
    assert f'href="/groups/issyk-kul-aimak/record/{producer.slug}"' in html
