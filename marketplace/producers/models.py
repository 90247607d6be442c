"""Producers, categories, products, their photos, and offers per market day."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import UTCDateTime, str_enum, utcnow
from marketplace.core.extensions import db


class ProducerKind(str, enum.Enum):
    FARMER = "farmer"
    CRAFTSMAN = "craftsman"
    PROCESSOR = "processor"


class Unit(str, enum.Enum):
    KG = "kg"
    G = "g"
    L = "l"
    PIECE = "piece"
    BUNCH = "bunch"
    JAR = "jar"
    DOZEN = "dozen"


class StockMode(str, enum.Enum):
    #: Harvest: the producer says how much they bring to each market day (an Offer).
    PER_MARKET_DAY = "per_market_day"
    #: Crafts, honey, preserves: one standing quantity shared by all market days.
    INVENTORY = "inventory"


class Producer(db.Model):
    """A farm, workshop or small processor with a public profile."""

    __tablename__ = "producer"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), unique=True)
    kind: Mapped[ProducerKind] = mapped_column(str_enum(ProducerKind), index=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(140), unique=True)
    story: Mapped[str] = mapped_column(Text, default="")
    #: Where the farm is (a rayon or town), as the producer writes it. The organic district
    #: ("aimak") is not typed: it is a group the producer is a member of (marketplace.groups).
    district: Mapped[str] = mapped_column(String(120), default="")
    country: Mapped[str] = mapped_column(String(2), default="KZ")
    #: Prices of new products are entered in this currency.
    currency: Mapped[str] = mapped_column(String(3), default="KZT")
    #: Coarse location only (a village, not a house).
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("image.id", ondelete="SET NULL"))
    #: Cached trust figures, recomputed by trust.services; the catalog sorts by score.
    trust_score: Mapped[int] = mapped_column(default=0, index=True)
    rating_count: Mapped[int] = mapped_column(default=0)
    rating_sum: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user = relationship("User")
    photo = relationship("Image")
    products: Mapped[list[Product]] = relationship(back_populates="producer")


class Category(db.Model):
    """A node of the small category tree."""

    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"))
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(default=0)

    parent: Mapped[Category | None] = relationship(remote_side=[id])


class Product(db.Model):
    """Something a producer sells, priced per unit in integer minor units."""

    __tablename__ = "product"
    __table_args__ = (
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint("inventory_milli >= 0", name="inventory_not_negative"),
        CheckConstraint("inventory_reserved_milli >= 0", name="inventory_reserved_not_negative"),
        CheckConstraint(
            "inventory_reserved_milli <= inventory_milli", name="inventory_reserved_le_quantity"
        ),
        Index("ix_product_active_created", "active", "created_at"),
        # The catalog sorts by price within a currency (prices in two currencies do not compare).
        Index("ix_product_active_currency_price", "active", "currency", "price_minor"),
        # The catalog's count and page ids come from this index alone (listed producers'
        # active products, newest first) without reading the product rows: the list sorted by
        # trust walks producers in trust order and reads their products' ids from here.
        Index("ix_product_producer_active_created_id", "producer_id", "active", "created_at", "id"),
        # "Can be ordered now" first compares orderable_until with the clock (see the column).
        Index("ix_product_active_orderable_until", "active", "orderable_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[Unit] = mapped_column(str_enum(Unit))
    price_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    sold_by_weight: Mapped[bool] = mapped_column(default=False)
    stock_mode: Mapped[StockMode] = mapped_column(str_enum(StockMode), default=StockMode.PER_MARKET_DAY)
    #: Standing stock for StockMode.INVENTORY, in thousandths of the unit (1.5 kg = 1500).
    inventory_milli: Mapped[int] = mapped_column(default=0)
    inventory_reserved_milli: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    #: Lower-cased, ё→е folded text of name, description, producer and category, for
    #: search that works on SQLite too (its lower() does not fold Cyrillic).
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    #: The latest ordering cutoff of any market day the product was ever offered on (None: never
    #: offered): a harvest product can be ordered now only while now < orderable_until, so the
    #: catalog's "can be ordered now" compares this first and checks offers only for what passes.
    #: Kept by the database itself (triggers of migration 0015 on offer and market_day, whoever
    #: writes them) and only ever raised: a cancelled day or a removed offer leaves it high
    #: until the cutoff passes, which costs a check, never a wrong answer.
    orderable_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    producer: Mapped[Producer] = relationship(back_populates="products")
    category: Mapped[Category] = relationship()
    photos: Mapped[list[ProductPhoto]] = relationship(
        order_by="ProductPhoto.position", cascade="all, delete-orphan", back_populates="product"
    )


class ProductPhoto(db.Model):
    __tablename__ = "product_photo"
    __table_args__ = (UniqueConstraint("product_id", "image_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), index=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("image.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)

    product: Mapped[Product] = relationship(back_populates="photos")
    image = relationship("Image")


def effective_price(offer_price_minor: int | None, product_price_minor: int) -> int:
    """What a product costs on a market day: its offer's own price for the day, else its price."""
    return offer_price_minor if offer_price_minor is not None else product_price_minor


class Offer(db.Model):
    """How much of a product the producer brings to one market day."""

    __tablename__ = "offer"
    __table_args__ = (
        UniqueConstraint("product_id", "market_day_id"),
        CheckConstraint("reserved_milli >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved_milli <= quantity_milli", name="reserved_le_quantity"),
        CheckConstraint("price_minor IS NULL OR price_minor >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    market_day_id: Mapped[int] = mapped_column(ForeignKey("market_day.id"), index=True)
    #: Thousandths of the product's unit.
    quantity_milli: Mapped[int] = mapped_column(default=0)
    reserved_milli: Mapped[int] = mapped_column(default=0)
    #: Price for this day only; None means the product's price.
    price_minor: Mapped[int | None]

    product: Mapped[Product] = relationship()
    market_day = relationship("MarketDay")

    @property
    def available_milli(self) -> int:
        return self.quantity_milli - self.reserved_milli

    @property
    def effective_price_minor(self) -> int:
        return effective_price(self.price_minor, self.product.price_minor)
