"""Read-only queries for the producer's own pages."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from babel.core import get_global
from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.core.money import format_price_input
from marketplace.core.periods import week_bucket
from marketplace.core.quantities import quantity_number
from marketplace.markets.models import (
    Market,
    MarketDay,
    MarketDayStatus,
    Vendor,
    VendorStatus,
)
from marketplace.producers.models import (
    Category,
    Offer,
    Producer,
    Product,
    ProductPhoto,
    StockMode,
)

#: Columns of the availability grid: enough for a month of weekly markets at two places.
GRID_MAX_DAYS = 10


def category_choices() -> list[tuple[int, str]]:
    """(id, label) of every category, children shown as 'Parent › Child'."""
    categories = list(db.session.scalars(select(Category).order_by(Category.position, Category.name)))
    by_id = {c.id: c for c in categories}
    choices = []
    for category in categories:
        parent = by_id.get(category.parent_id) if category.parent_id else None
        choices.append((category.id, f"{gettext(parent.name)} › {gettext(category.name)}" if parent else gettext(category.name)))
    return sorted(choices, key=lambda c: c[1].casefold())


def product_page(producer: Producer, page: int, per_page: int):
    """The producer's products, active first, newest first, with their photos."""
    query = (select(Product).where(Product.producer_id == producer.id)
             .options(joinedload(Product.category),
                      selectinload(Product.photos).joinedload(ProductPhoto.image))
             .order_by(Product.active.desc(), Product.created_at.desc(), Product.id.desc()))
    return db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)


def product_with_photos(producer: Producer, product_id: int) -> Product | None:
    return db.session.scalar(
        select(Product).where(Product.id == product_id, Product.producer_id == producer.id)
        .options(selectinload(Product.photos).joinedload(ProductPhoto.image)))


def _approved_market_ids(producer: Producer):
    return select(Vendor.market_id).where(Vendor.producer_id == producer.id,
                                          Vendor.status == VendorStatus.APPROVED)


def grid_days(producer: Producer, now: datetime | None = None, limit: int = GRID_MAX_DAYS) -> list[MarketDay]:
    """Scheduled market days still taking orders, at markets where the producer is approved."""
    now = now or utcnow()
    return list(db.session.scalars(
        select(MarketDay).join(MarketDay.market)
        .where(MarketDay.market_id.in_(_approved_market_ids(producer)), Market.active.is_(True),
               MarketDay.status == MarketDayStatus.SCHEDULED, MarketDay.cutoff_at > now)
        .options(joinedload(MarketDay.market))
        .order_by(MarketDay.opens_at, MarketDay.id).limit(limit)))


def grid_products(producer: Producer) -> list[Product]:
    """Active products whose stock is set per market day."""
    return list(db.session.scalars(
        select(Product).where(Product.producer_id == producer.id, Product.active.is_(True),
                              Product.stock_mode == StockMode.PER_MARKET_DAY)
        .order_by(Product.name, Product.id)))


def inventory_products(producer: Producer) -> list[Product]:
    """Active products sold from one standing stock."""
    return list(db.session.scalars(
        select(Product).where(Product.producer_id == producer.id, Product.active.is_(True),
                              Product.stock_mode == StockMode.INVENTORY)
        .order_by(Product.name, Product.id)))


def offers_for(day_ids: list[int], product_ids: list[int]) -> dict[tuple[int, int], Offer]:
    """Offers keyed by (market day id, product id)."""
    if not day_ids or not product_ids:
        return {}
    rows = db.session.scalars(select(Offer).where(Offer.market_day_id.in_(day_ids),
                                                  Offer.product_id.in_(product_ids)))
    return {(offer.market_day_id, offer.product_id): offer for offer in rows}


def previous_day_offers(producer: Producer, day: MarketDay) -> tuple[MarketDay | None, dict[int, Offer]]:
    """The latest earlier day of the same market on which the producer brought something, and what."""
    previous = db.session.scalar(
        select(MarketDay).join(Offer, Offer.market_day_id == MarketDay.id).join(Product, Product.id == Offer.product_id)
        .where(MarketDay.market_id == day.market_id, MarketDay.date < day.date,
               MarketDay.status != MarketDayStatus.CANCELLED,
               Product.producer_id == producer.id, Offer.quantity_milli > 0)
        .order_by(MarketDay.date.desc()).limit(1))
    if previous is None:
        return None, {}
    rows = db.session.scalars(select(Offer).join(Product, Product.id == Offer.product_id).where(
        Offer.market_day_id == previous.id, Product.producer_id == producer.id).options(joinedload(Offer.product)))
    return previous, {offer.product_id: offer for offer in rows}


def copy_previous_day(producer: Producer, day: MarketDay, cells: dict[tuple[int, int], tuple[str, str]]):
    """The grid's typed cells with one day's column replaced by the previous market day's figures."""
    previous, offers = previous_day_offers(producer, day)
    values = dict(cells)
    for product_id, offer in offers.items():
        if (day.id, product_id) in values:
            values[(day.id, product_id)] = (quantity_number(offer.quantity_milli),
                                            format_price_input(offer.price_minor, offer.product.currency))
    return previous, values


@dataclass
class DayLine:
    product: Product
    quantity_milli: int
    reserved_milli: int


@dataclass
class DashboardDay:
    day: MarketDay
    #: still before its cutoff: "What I bring" can change it (after it, the day is not in that form)
    taking_orders: bool = True
    lines: list[DayLine] = field(default_factory=list)


def upcoming_days(producer: Producer, now: datetime | None = None, limit: int = 6) -> list[DashboardDay]:
    """Coming market days at the producer's markets with what they bring and what is reserved."""
    now = now or utcnow()
    days = list(db.session.scalars(
        select(MarketDay).join(MarketDay.market)
        .where(MarketDay.market_id.in_(_approved_market_ids(producer)), Market.active.is_(True),
               MarketDay.status == MarketDayStatus.SCHEDULED, MarketDay.closes_at > now)
        .options(joinedload(MarketDay.market))
        .order_by(MarketDay.opens_at, MarketDay.id).limit(limit)))
    result = {day.id: DashboardDay(day, taking_orders=day.cutoff_at > now) for day in days}
    if days:
        offers = db.session.scalars(
            select(Offer).join(Product, Product.id == Offer.product_id)
            .where(Offer.market_day_id.in_(list(result)), Product.producer_id == producer.id,
                   (Offer.quantity_milli > 0) | (Offer.reserved_milli > 0))
            .options(joinedload(Offer.product)).order_by(Product.name, Product.id))
        for offer in offers:
            result[offer.market_day_id].lines.append(
                DayLine(offer.product, offer.quantity_milli, offer.reserved_milli))
    return list(result.values())


def applications(producer: Producer) -> list[Vendor]:
    return list(db.session.scalars(
        select(Vendor).where(Vendor.producer_id == producer.id)
        .options(joinedload(Vendor.market)).order_by(Vendor.created_at.desc(), Vendor.id.desc())))


def waiting_markets(producer: Producer) -> list[Market]:
    """Markets whose organizers have not decided the producer's application yet, by name."""
    return list(db.session.scalars(
        select(Market).join(Vendor, Vendor.market_id == Market.id)
        .where(Vendor.producer_id == producer.id, Vendor.status == VendorStatus.APPLIED, Market.active.is_(True))
        .order_by(Market.name)))


def markets_with_standing(producer: Producer) -> list[tuple[Market, Vendor | None]]:
    """Every active market with the producer's application there, if any."""
    vendors = {v.market_id: v for v in db.session.scalars(select(Vendor).where(Vendor.producer_id == producer.id))}
    markets = db.session.scalars(select(Market).where(Market.active.is_(True)).order_by(Market.name))
    return [(market, vendors.get(market.id)) for market in markets]


def products_for_export(producer: Producer) -> list[Product]:
    return list(db.session.scalars(select(Product).where(Product.producer_id == producer.id)
                                   .options(joinedload(Product.category)).order_by(Product.id)))



def products_of_producer(producer_id: int, limit: int = 12) -> list[Product]:
    """A producer's products on sale with their photos, for an organizer deciding an application."""
    return list(db.session.scalars(
        select(Product).where(Product.producer_id == producer_id, Product.active.is_(True))
        .options(joinedload(Product.category), selectinload(Product.photos).joinedload(ProductPhoto.image))
        .order_by(Product.created_at.desc(), Product.id.desc()).limit(limit)))


#: An offer is running low when customers have reserved this share of it (in percent) or more.
LOW_STOCK_PERCENT = 80


def is_low(quantity_milli: int, reserved_milli: int) -> bool:
    """Customers have reserved most of what is brought or stocked (nothing left counts too)."""
    return quantity_milli > 0 and reserved_milli * 100 >= quantity_milli * LOW_STOCK_PERCENT


@dataclass
class Onboarding:
    """The steps a new producer takes before selling; `done` says which are taken."""

    story: bool
    photo: bool
    product: bool
    application: bool

    @property
    def ready_to_apply(self) -> bool:
        """Organizers decide on something: a profile with a story and at least one product."""
        return self.story and self.product

    @property
    def essentials(self) -> bool:
        """Everything but a certificate (not every producer has one): the checklist steps aside."""
        return self.story and self.photo and self.product and self.application


def onboarding(producer: Producer) -> Onboarding:
    has_product = db.session.scalar(select(Product.id).where(Product.producer_id == producer.id).limit(1))
    has_application = db.session.scalar(select(Vendor.id).where(Vendor.producer_id == producer.id).limit(1))
    return Onboarding(story=bool(producer.story.strip()), photo=producer.photo_id is not None,
                      product=has_product is not None, application=has_application is not None)


def has_previous_day(producer: Producer, day: MarketDay) -> bool:
    """Whether "Same as last time" has a day to copy from."""
    return previous_day_offers(producer, day)[0] is not None


def new_producers_per_week(starts: list[datetime]) -> list[int]:
    """Producer profiles created in each of these weeks (the admin's overview)."""
    bucket = week_bucket(Producer.created_at, starts)
    counts = dict(db.session.execute(select(bucket, func.count(Producer.id))
                                     .where(Producer.created_at >= starts[0]).group_by(bucket)).all())
    return [counts.get(index, 0) for index in range(len(starts))]


def market_countries(producer: Producer) -> list[str]:
    """Countries of the markets the producer sells at or applied to (from their time zones)."""
    zones = db.session.scalars(select(Market.timezone).join(Vendor, Vendor.market_id == Market.id)
                               .where(Vendor.producer_id == producer.id).distinct())
    territories = get_global("zone_territories")
    return sorted({territories[zone] for zone in zones if zone in territories})
