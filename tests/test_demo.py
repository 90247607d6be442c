"""The demo shows what it sells: every seeded product has a picture of its own thing."""
from __future__ import annotations

from collections import defaultdict

from PIL import Image as PILImage
from PIL import ImageChops, ImageStat
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace.core.extensions import db
from marketplace.demo import product_look, seed_demo
from marketplace.demo_pictures import ART, FALLBACK, art_path, demo_picture
from marketplace.media.services import image_path
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
