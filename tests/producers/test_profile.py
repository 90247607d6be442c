"""The producer edits the public profile."""
from __future__ import annotations

import re

from marketplace.core.extensions import db
from marketplace.producers.models import Producer, Product


def profile(**changes):
    data = {"name": "Gulnara Farm", "kind": "farmer", "story": "Since 2012.", "district": "Шортанды",
            "country": "KZ", "currency": "KZT", "lat": "", "lon": ""}
    data.update(changes)
    return data


def test_profile_saved_with_a_coarse_map_point(app, shop, client, login):
    login(shop.owner_email)
    assert client.get("/shop/profile").status_code == 200
    response = client.post("/shop/profile", data=profile(kind="processor", country="KG", currency="KGS",
                                                         lat="42,52739", lon="72.24381"))
    assert response.status_code == 302
    with app.app_context():
        producer = db.session.get(Producer, shop.producer)
        assert producer.kind.value == "processor" and producer.country == "KG" and producer.currency == "KGS"
        assert (producer.lat, producer.lon) == (42.53, 72.24)
        # products keep the currency they were priced in
        assert db.session.get(Product, shop.potatoes).currency == "KZT"


def test_renaming_updates_every_products_search_text_and_keeps_the_slug(app, shop, client, login):
    with app.app_context():
        slug = db.session.get(Producer, shop.producer).slug
    login(shop.owner_email)
    client.post("/shop/profile", data=profile(name="Ферма Гульнары"))
    with app.app_context():
        producer = db.session.get(Producer, shop.producer)
        assert producer.slug == slug
        for product_id in (shop.potatoes, shop.dill, shop.honey):
            assert {"ферма", "гульнары"} <= set(db.session.get(Product, product_id).search_text.split())
        assert "ферма" not in db.session.get(Product, shop.rival_product).search_text.split()


def test_bad_coordinates_are_refused_beside_the_field(app, shop, client, login):
    login(shop.owner_email)
    for lat, lon, field in [("95", "10", "lat"), ("abc", "10", "lat"), ("42", "", "lat"), ("42", "1e3", "lon")]:
        response = client.post("/shop/profile", data=profile(lat=lat, lon=lon, name="Changed"))
        assert response.status_code == 200
        assert f'id="{field}-errors"' in response.get_data(as_text=True), (lat, lon)
    with app.app_context():
        assert db.session.get(Producer, shop.producer).name == "Gulnara Farm"


def test_unknown_country_or_currency_is_refused(app, shop, client, login):
    login(shop.owner_email)
    response = client.post("/shop/profile", data=profile(country="XX", currency="BTC"))
    page = response.get_data(as_text=True)
    assert 'id="country-errors"' in page and 'id="currency-errors"' in page


def test_the_organic_district_is_chosen_from_the_groups_not_typed(app, shop, client, login):
    """The profile offers the groups to apply to; a typed district is not taken any more."""
    from tests.groups.helpers import make_group

    with app.app_context():
        make_group("Талас органик аймагы")
    login(shop.owner_email)
    page = client.get("/shop/profile").get_data(as_text=True)
    assert 'name="organic_district"' not in page
    assert "Талас органик аймагы" in page and 'action="/groups/choose"' in page
    response = client.post("/shop/profile", data=profile(organic_district="Typed district"))
    assert response.status_code == 302
    with app.app_context():
        assert not hasattr(db.session.get(Producer, shop.producer), "organic_district")
    response = client.post("/groups/choose", data={"group": "talas-organik-aymagy"})
    assert response.headers["Location"].endswith("/groups/talas-organik-aymagy/apply")
    response = client.post("/groups/choose", data={"group": "no-such-group"})
    assert response.headers["Location"].endswith("/shop/profile")


def test_the_country_list_holds_only_countries_people_live_in(shop, client, login):
    """Bouvet Island, Heard & McDonald Islands and the US Minor Outlying Islands were offered as a
    producer's country (tryout of issue 21)."""
    login(shop.owner_email)
    page = client.get("/shop/profile").get_data(as_text=True)
    countries = page[page.index('name="country"'):]
    countries = countries[:countries.index("</select>")]
    offered = set(re.findall(r'<option[^>]*value="([A-Z]{2})"', countries))
    assert {"KZ", "KG", "FR", "US", "NO", "AU"} <= offered
    assert not offered & {"BV", "HM", "UM", "TF", "GS", "IO", "AQ", "EU", "EZ", "UN"}
