"""The demo shows what it sells: every seeded product has a picture of its own thing."""
from __future__ import annotations

import re
from collections import defaultdict

from PIL import Image as PILImage
from PIL import ImageChops, ImageStat
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.demo import product_look, seed_demo
from marketplace.demo_pictures import ART, FALLBACK, art_path, demo_picture
from marketplace.markets.models import Market, MarketDay
from marketplace.media.services import image_path
from marketplace.notifications.channels import Recipient
from marketplace.producers.models import Product


def _difference(stored_key: str, other: PILImage.Image) -> float:
    """Mean difference per channel (0-255) between a stored 400-px thumbnail and a picture."""
    with PILImage.open(image_path(stored_key, 400)) as stored:
        other = other.convert("RGB").resize(stored.size)
        return sum(ImageStat.Stat(ImageChops.difference(stored.convert("RGB"), other)).mean) / 3


def test_every_seeded_product_has_a_specific_picture(ctx):
    seed_demo(weeks=1)
    products = db.session.scalars(select(Product).options(selectinload(Product.photos),
                                                          selectinload(Product.category))).all()
    assert products
    fallbacks = {}
    looks_by_producer = defaultdict(list)
    for product in products:
        look = product_look(product.name)
        assert look != FALLBACK, f"{product.name!r} has no picture of its own (add it to PRODUCT_LOOKS)"
        for name in filter(None, (look.art, look.companion)):
            assert art_path(ART[name]).is_file(), f"{name} is not vendored: run scripts/vendor-openmoji.py"
        looks_by_producer[product.producer_id].append(look)
        # What was stored is that picture, not the basket drawn for an unknown product.
        category = product.category.slug
        if category not in fallbacks:
            fallbacks[category] = PILImage.open(demo_picture(FALLBACK, category))
        assert product.photos, product.name
        assert _difference(product.photos[0].image.key, fallbacks[category]) > 3, product.name
    for looks in looks_by_producer.values():
        assert len(set(looks)) == len(looks), "two products of one producer look the same"


def test_demo_accounts_are_written_to_in_their_market_s_languages(ctx):
    """No demo account chose a language (pages follow the browser); their messages are not all English."""
    seed_demo()
    languages = {user.email: Recipient.of(user).locale for user in db.session.scalars(select(User))}
    assert languages["admin@aimak.test"] == "en" and languages["customer@aimak.test"] == "ru"
    assert languages["organizer.kg@aimak.test"] == "ky" and languages["school@aimak.test"] == "kk"
    assert None not in languages.values()
    assert all(user.locale is None for user in db.session.scalars(select(User)))


def test_demo_names_read_right_at_their_markets(ctx):
    """A market has one name, in its audience's language (Kazakh markets Russian or Kazakh, the
    Bishkek fair Kyrgyz or Russian): no English names on a Russian page, no Russian day title on
    a Kazakh or Kyrgyz one (a seeded title is data, shown as typed in every language)."""
    seed_demo()
    cyrillic = re.compile("[а-яёәғқңөұүһі]", re.IGNORECASE)
    assert all(cyrillic.search(market.name) for market in db.session.scalars(select(Market)))
    names = set(db.session.scalars(select(Product.name)))
    assert "Сотовый мёд" in names and "Honey comb" not in names
    assert [day.title for day in db.session.scalars(select(MarketDay)) if day.title] == []
