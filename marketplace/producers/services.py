"""Producer profiles, products and what they bring to market days."""
from __future__ import annotations

from marketplace.accounts.models import User
from marketplace.accounts.signals import user_registered
from marketplace.extensions import db
from marketplace.producers.models import Producer, ProducerKind, Product
from marketplace.search import normalize_text
from marketplace.slugs import unique_slug


def create_producer(user: User, name: str, kind: ProducerKind, **fields) -> Producer:
    """The public profile of a producer account (one per user)."""
    producer = Producer(user=user, name=name.strip(), kind=kind,
                        slug=unique_slug(Producer, name), **fields)
    db.session.add(producer)
    db.session.flush()
    return producer


def producer_for_user(user: User) -> Producer | None:
    from sqlalchemy import select

    return db.session.scalar(select(Producer).where(Producer.user_id == user.id))


def refresh_search_text(product: Product) -> None:
    """Keep the normalised search column in step with what a customer may search for."""
    parts = [product.name, product.description,
             product.producer.name if product.producer else "",
             product.category.name if product.category else ""]
    product.search_text = normalize_text(" ".join(p for p in parts if p))


@user_registered.connect
def _create_profile_on_registration(user: User, data: dict, **_extra) -> None:
    if data.get("account_type") == "producer":
        create_producer(user, data.get("producer_name") or user.name,
                        ProducerKind(data.get("producer_kind") or "farmer"))
