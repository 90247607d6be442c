"""Producer profiles, products and their photos, what they bring to market days, market applications.

Every public function takes the acting user and refuses (NotAllowed) when that user does
not own the producer; views turn NotAllowed and NotFound into 404.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from marketplace.accounts.models import User
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, InvalidState, NotAllowed, NotFound
from marketplace.core.extensions import db
from marketplace.core.money import InvalidAmount, parse_price_minor
from marketplace.core.quantities import format_quantity, parse_quantity_milli
from marketplace.core.search_terms import WEIGHT_GROUP, group_term, index_text, word_forms
from marketplace.core.text import unique_slug
from marketplace.core.text import words as words_of
from marketplace.core.vocabulary import Vocabulary
from marketplace.markets.models import Market, MarketDay, Vendor, VendorStatus
from marketplace.media.services import delete_image, save_image
from marketplace.producers import queries
from marketplace.producers.labels import category_names_in_all_languages
from marketplace.producers.models import (
    Category,
    Offer,
    Producer,
    ProducerKind,
    Product,
    ProductPhoto,
    StockMode,
    Unit,
)
from marketplace.producers.signals import stock_added
from marketplace.search.matching import Alternatives, holds
from marketplace.search.services import record_words
from marketplace.search.vocabulary import current_vocabulary

MAX_PRODUCT_PHOTOS = 5
#: Units whose quantity can be weighed or measured in fractions.
WEIGHABLE_UNITS = {Unit.KG, Unit.G, Unit.L}


class FieldErrors(DomainError):
    """Messages for named form fields (`errors`: field name -> message); nothing was changed."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(next(iter(errors.values()), ""))
        self.errors = errors


class GridErrors(DomainError):
    """Messages for cells of the availability grid (`errors`: (day id, product id) -> message)."""

    def __init__(self, errors: dict[tuple[int, int], str]):
        super().__init__(str(_l("Nothing was saved: correct the quantities marked below.")))
        self.errors = errors


class ProductHasOrders(InvalidState):
    pass


# --- Profiles -------------------------------------------------------------------------

def create_producer(user: User, name: str, kind: ProducerKind, **fields) -> Producer:
    """The public profile of a producer account (one per user)."""
    producer = Producer(user=user, name=name.strip(), kind=kind,
                        slug=unique_slug(Producer, name), **fields)
    db.session.add(producer)
    db.session.flush()
    return producer


def producer_for_user(user: User) -> Producer | None:
    """The user's producer profile, or None (also for a visitor who is not logged in)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(select(Producer).where(Producer.user_id == user.id))


def check_owner(producer: Producer, actor: User) -> None:
    """NotAllowed unless the acting user owns the producer profile."""
    if actor is None or producer.user_id != actor.id:
        raise NotAllowed()


def refresh_search_text(product: Product, *, vocabulary: Vocabulary | None = None,
                        record: bool = True) -> dict[str, int]:
    """Keep the search column in step with what a customer may search for: the name's
    terms, then the description's, the producer's name's and the category's names' in every
    language (core.search_terms). Its words join the search word list unless `record` is
    False (a batch records them once); returns them."""
    category_names = (_category_names(product.category.name, tuple(current_app.config["LANGUAGES"]))
                      if product.category else [])
    indexed = index_text(product.name, product.description, product.producer.name if product.producer else "",
                         category_names, vocabulary=vocabulary or current_vocabulary())
    product.search_text = indexed.column
    if record:
        record_words(indexed.words)
    return indexed.words


@lru_cache(maxsize=256)
def _category_names(name: str, languages: tuple[str, ...]) -> list[str]:
    return category_names_in_all_languages(name, list(languages))


#: Products indexed per transaction by a reindex (the write lock is given up in between).
REINDEX_BATCH = 500


def _holding_words(words: list[str]):
    """Condition: the product's search column holds a form of one of the words (or of a
    word of one of the phrases) — the products a vocabulary change may concern."""
    forms = {form for text in words for word in words_of(text) for form in word_forms(word)}
    return holds(Product.__table__, [Alternatives(tuple(sorted(forms)))])


def reindex_search_text(words: list[str] | None = None, groups: list[str] = (),
                        after_batch=None) -> set[str]:
    """Index again, with the current vocabulary, every product (words=None) or those that
    hold a form of one of `words`; the words of `groups` join the word list when some
    product belongs to the group. `after_batch()` runs after each batch (a task commits
    there). Returns the words of the products indexed."""
    vocabulary = current_vocabulary()
    ids_query = select(Product.id).order_by(Product.id)
    if words is not None:
        ids_query = ids_query.where(_holding_words(words))
    ids = list(db.session.scalars(ids_query))
    seen: dict[str, int] = {}
    for start in range(0, len(ids), REINDEX_BATCH):
        batch: dict[str, int] = {}
        for product in db.session.scalars(
                select(Product).where(Product.id.in_(ids[start:start + REINDEX_BATCH]))
                .options(joinedload(Product.producer), joinedload(Product.category))):
            for word, weight in refresh_search_text(product, vocabulary=vocabulary, record=False).items():
                batch[word] = max(weight, batch.get(word, 0))
        record_words(batch)
        db.session.flush()
        for word, weight in batch.items():
            seen[word] = max(weight, seen.get(word, 0))
        if after_batch is not None:
            after_batch()
    for group_id in groups:
        in_group = holds(Product.__table__, [Alternatives((group_term(group_id),))])
        if group_id in vocabulary.groups and db.session.scalar(select(Product.id).where(in_group).limit(1)):
            group_words = {word: WEIGHT_GROUP for word in vocabulary.single_words(group_id)}
            record_words(group_words)
            seen.update(group_words)
    db.session.flush()
    return set(seen)


def reindex_on_request(_sender, *, words, groups, after_batch) -> set[str]:
    """search's `reindex_requested`: the products' columns are ours to index."""
    return reindex_search_text(words, groups, after_batch)


def coarse_coordinate(value: Decimal | None) -> float | None:
    """Two decimals (about a kilometre): enough to find the village, never the house."""
    if value is None:
        return None
    return float(value.quantize(Decimal("0.01")))


def update_profile(producer: Producer, actor: User, *, name: str, kind: ProducerKind, story: str,
                   district: str, country: str, currency: str,
                   lat: Decimal | None, lon: Decimal | None) -> Producer:
    """Change the public profile; a new name is carried into every product's search text."""
    check_owner(producer, actor)
    if (lat is None) != (lon is None):
        raise FieldErrors({"lat": str(_l("Enter both latitude and longitude, or neither."))})
    renamed = name.strip() != producer.name
    producer.name = name.strip()
    producer.kind = kind
    producer.story = story.strip()
    producer.district = district.strip()
    producer.country = country.upper()
    # Existing products keep the currency they are priced in; new ones use this.
    producer.currency = currency.upper()
    producer.lat, producer.lon = coarse_coordinate(lat), coarse_coordinate(lon)
    # The slug stays: links to the public page that customers saved keep working.
    if renamed:
        products = db.session.scalars(select(Product).where(Product.producer_id == producer.id)
                                      .options(selectinload(Product.category)))
        for product in products:
            refresh_search_text(product)
    db.session.flush()
    return producer


def set_profile_photo(producer: Producer, actor: User, stream) -> None:
    """Replace the profile photo (the old one's files go once this commits)."""
    check_owner(producer, actor)
    image = save_image(stream, actor.id, alt=producer.name)
    old = producer.photo
    producer.photo = image
    db.session.flush()
    if old is not None:
        delete_image(old)


def remove_profile_photo(producer: Producer, actor: User) -> None:
    """Drop the profile photo (its files go once this commits)."""
    check_owner(producer, actor)
    old = producer.photo
    producer.photo = None
    db.session.flush()
    if old is not None:
        delete_image(old)


# --- Products -------------------------------------------------------------------------

@dataclass
class ProductData:
    """Parsed, typed product fields (from the form or a CSV row)."""

    name: str
    category_id: int
    unit: Unit
    price_minor: int
    sold_by_weight: bool
    stock_mode: StockMode
    description: str = ""
    #: Standing quantity for StockMode.INVENTORY; None leaves it as it is.
    inventory_milli: int | None = None
    active: bool | None = None


def parse_price_field(text: str | None, currency: str) -> tuple[int | None, str | None]:
    """(price in minor units, None) or (None, message)."""
    try:
        return parse_price_minor(text, currency), None
    except InvalidAmount as exc:
        return None, str(exc)


def parse_inventory_field(text: str | None, sold_by_weight: bool) -> tuple[int | None, str | None]:
    """(standing quantity in thousandths, None) or (None, message); empty means zero."""
    if not (text or "").strip():
        return 0, None
    try:
        return parse_quantity_milli(text, sold_by_weight, allow_zero=True), None
    except InvalidAmount as exc:
        return None, str(exc)


def _reserved_anywhere(product: Product) -> bool:
    if product.inventory_reserved_milli > 0:
        return True
    return db.session.scalar(select(func.count(Offer.id)).where(
        Offer.product_id == product.id, Offer.reserved_milli > 0)) > 0


def check_product_rules(data: ProductData, product: Product | None) -> dict[str, str]:
    errors = {}
    if db.session.get(Category, data.category_id) is None:
        errors["category_id"] = str(_l("Choose a category."))
    if data.sold_by_weight and data.unit not in WEIGHABLE_UNITS:
        errors["sold_by_weight"] = str(_l("Only products sold in kg, g or l can be sold by weight."))
    if not data.name.strip():
        errors["name"] = str(_l("Enter the product's name."))
    if product is not None and (
        product.unit != data.unit or product.sold_by_weight != data.sold_by_weight
        or product.stock_mode != data.stock_mode
    ) and _reserved_anywhere(product):
        errors.setdefault("unit", str(_l(
            "Customers have reserved this product: its unit, weighing and stock mode cannot change "
            "until those orders are done.")))
    return errors


def _set_inventory(product: Product, quantity_milli: int) -> None:
    """Set standing stock, refused below what is reserved, safe against a concurrent reservation."""
    if product.inventory_milli == quantity_milli:
        return
    result = db.session.execute(
        update(Product)
        .where(Product.id == product.id, Product.inventory_reserved_milli <= quantity_milli)
        .values(inventory_milli=quantity_milli)
        .execution_options(synchronize_session=False))
    if result.rowcount == 0:
        reserved = db.session.scalar(select(Product.inventory_reserved_milli).where(Product.id == product.id))
        raise FieldErrors({"inventory": str(_l(
            "Customers have already reserved %(qty)s; the stock cannot be less than that.",
            qty=format_quantity(reserved, product.unit)))})
    db.session.expire(product, ["inventory_milli", "inventory_reserved_milli"])


def create_product(producer: Producer, actor: User, data: ProductData) -> Product:
    """A new product priced in the producer's currency."""
    check_owner(producer, actor)
    errors = check_product_rules(data, None)
    if errors:
        raise FieldErrors(errors)
    product = Product(producer=producer, category=db.session.get(Category, data.category_id),
                      name=data.name.strip(),
                      description=data.description.strip(), unit=data.unit, price_minor=data.price_minor,
                      currency=producer.currency, sold_by_weight=data.sold_by_weight,
                      stock_mode=data.stock_mode,
                      inventory_milli=data.inventory_milli if data.stock_mode == StockMode.INVENTORY
                      and data.inventory_milli is not None else 0,
                      active=True if data.active is None else data.active)
    db.session.add(product)
    refresh_search_text(product)
    db.session.flush()
    if product.active and product.stock_mode == StockMode.INVENTORY and product.inventory_milli > 0:
        stock_added.send(producer, market_day_ids=None)
    return product


def update_product(product: Product, actor: User, data: ProductData) -> Product:
    """Change a product; its standing stock never goes below what customers reserved."""
    check_owner(product.producer, actor)
    errors = check_product_rules(data, product)
    if errors:
        raise FieldErrors(errors)
    stock_before = product.inventory_milli if product.stock_mode == StockMode.INVENTORY else 0
    product.name = data.name.strip()
    product.description = data.description.strip()
    product.category = db.session.get(Category, data.category_id)
    product.unit = data.unit
    product.price_minor = data.price_minor
    product.sold_by_weight = data.sold_by_weight
    product.stock_mode = data.stock_mode
    if data.active is not None:
        product.active = data.active
    db.session.flush()
    if data.stock_mode == StockMode.INVENTORY and data.inventory_milli is not None:
        _set_inventory(product, data.inventory_milli)
        if product.active and data.inventory_milli > stock_before:
            stock_added.send(product.producer, market_day_ids=None)
    refresh_search_text(product)
    db.session.flush()
    return product


def set_product_active(product: Product, actor: User, active: bool) -> None:
    """Deactivate (customers no longer see it; existing orders stand) or reactivate."""
    check_owner(product.producer, actor)
    product.active = active
    db.session.flush()


def delete_product(product: Product, actor: User) -> None:
    """Delete a product that was never ordered; one with orders can only be deactivated."""
    check_owner(product.producer, actor)
    images = [photo.image for photo in product.photos]
    try:
        # Order lines keep their product by a foreign key: a product that was ever ordered keeps
        # its history, and its DELETE fails here (orders sit above producers; no query of them).
        with db.session.begin_nested():
            db.session.execute(Offer.__table__.delete().where(Offer.product_id == product.id))
            db.session.delete(product)
            db.session.flush()
    except IntegrityError:
        raise ProductHasOrders(str(_l("This product has orders, so it cannot be deleted; deactivate it instead."))) from None
    for image in images:
        delete_image(image)


def product_of(producer: Producer, product_id: int, *, for_update: bool = False) -> Product:
    """The producer's own product, or NotFound (another producer's id is simply not found)."""
    query = select(Product).where(Product.id == product_id, Product.producer_id == producer.id)
    if for_update:
        query = query.with_for_update()
    product = db.session.scalar(query)
    if product is None:
        raise NotFound()
    return product


# --- Product photos ---------------------------------------------------------------------

def _renumber(product: Product) -> None:
    for position, photo in enumerate(sorted(product.photos, key=lambda p: (p.position, p.id))):
        photo.position = position


def add_product_photo(product: Product, actor: User, stream) -> ProductPhoto:
    """Add a checked, re-encoded photo at the end (at most five per product)."""
    check_owner(product.producer, actor)
    # Lock the product so two uploads at once cannot make a sixth photo.
    db.session.execute(select(Product.id).where(Product.id == product.id).with_for_update())
    db.session.refresh(product, ["photos"])
    if len(product.photos) >= MAX_PRODUCT_PHOTOS:
        raise FieldErrors({"photo": str(_l("A product can have at most %(n)s photos; remove one first.",
                                             n=MAX_PRODUCT_PHOTOS))})
    image = save_image(stream, actor.id, alt=product.name)
    position = max((p.position for p in product.photos), default=-1) + 1
    photo = ProductPhoto(image=image, position=position)
    product.photos.append(photo)
    db.session.flush()
    return photo


def _photo_of(product: Product, photo_id: int) -> ProductPhoto:
    for photo in product.photos:
        if photo.id == photo_id:
            return photo
    raise NotFound()


def move_product_photo(product: Product, actor: User, photo_id: int, offset: int) -> None:
    """Move a photo one place earlier (-1) or later (+1); the first photo is the main one."""
    check_owner(product.producer, actor)
    photo = _photo_of(product, photo_id)
    ordered = sorted(product.photos, key=lambda p: (p.position, p.id))
    index = ordered.index(photo)
    target = index + (1 if offset > 0 else -1)
    if 0 <= target < len(ordered):
        ordered[index], ordered[target] = ordered[target], ordered[index]
    for position, item in enumerate(ordered):
        item.position = position
    db.session.flush()


def remove_product_photo(product: Product, actor: User, photo_id: int) -> None:
    """Remove one of the product's photos; the others close up in the same order."""
    check_owner(product.producer, actor)
    photo = _photo_of(product, photo_id)
    image = photo.image
    product.photos.remove(photo)
    db.session.flush()
    delete_image(image)
    _renumber(product)
    db.session.flush()


# --- What the producer brings to market days ---------------------------------------------

def save_availability(producer: Producer, actor: User, cells: dict[tuple[int, int], tuple[str, str]],
                      now: datetime | None = None) -> int:
    """Save the whole grid or nothing: quantity (and optional price) per market day and product.

    A quantity below what customers have already reserved is refused for that cell; the
    check is the UPDATE's own condition, so a reservation made a moment ago counts too.
    The caller rolls back on GridErrors. Returns the number of cells changed.
    """
    check_owner(producer, actor)
    days = {day.id: day for day in queries.grid_days(producer, now)}
    products = {product.id: product for product in queries.grid_products(producer)}
    for day_id, product_id in cells:
        if day_id not in days or product_id not in products:
            raise NotFound()  # a day or product that is not this producer's grid
    offers = queries.offers_for(list(days), list(products))
    errors: dict[tuple[int, int], str] = {}
    changes = []
    for key, (quantity_text, price_text) in cells.items():
        product = products[key[1]]
        if product.currency != days[key[0]].market.currency:
            # An order is paid in the market's currency; a price in another one cannot be charged.
            errors[key] = str(_l("This product is priced in %(currency)s; this market sells in %(market)s.",
                                 currency=product.currency, market=days[key[0]].market.currency))
            continue
        try:
            quantity = (parse_quantity_milli(quantity_text, product.sold_by_weight, allow_zero=True)
                        if (quantity_text or "").strip() else 0)
            price = parse_price_minor(price_text, product.currency) if (price_text or "").strip() else None
        except InvalidAmount as exc:
            errors[key] = str(exc)
            continue
        offer = offers.get(key)
        if offer is None and quantity == 0 and price is None:
            continue
        if offer is not None and offer.quantity_milli == quantity and offer.price_minor == price:
            continue
        changes.append((key, offer, quantity, price))
    added_days = {key[0] for key, offer, quantity, _price in changes
                  if quantity > (offer.quantity_milli if offer is not None else 0)}
    changed = 0
    for key, offer, quantity, price in changes:
        product = products[key[1]]
        if offer is None:
            try:
                with db.session.begin_nested():
                    db.session.add(Offer(product_id=key[1], market_day_id=key[0], quantity_milli=quantity,
                                         price_minor=price))
            except IntegrityError:
                errors[key] = str(_l("This was changed in another window; reload the page and try again."))
                continue
        else:
            result = db.session.execute(
                update(Offer)
                .where(Offer.id == offer.id, Offer.reserved_milli <= quantity)
                .values(quantity_milli=quantity, price_minor=price)
                .execution_options(synchronize_session=False))
            if result.rowcount == 0:
                reserved = db.session.scalar(select(Offer.reserved_milli).where(Offer.id == offer.id))
                errors[key] = str(_l("Customers have already reserved %(qty)s; bring at least that much.",
                                     qty=format_quantity(reserved, product.unit)))
                continue
            db.session.expire(offer)
        changed += 1
    if errors:
        raise GridErrors(errors)
    db.session.flush()
    if added_days:
        stock_added.send(producer, market_day_ids=sorted(added_days))
    return changed


class StockErrors(DomainError):
    """Messages per product id for the standing-stock form; nothing was changed."""

    def __init__(self, errors: dict[int, str]):
        super().__init__(str(_l("Nothing was saved: correct the stock marked below.")))
        self.errors = errors


def save_standing_stock(producer: Producer, actor: User, values: dict[int, str]) -> int:
    """Standing stock of several products in one go (product id -> typed quantity); all or nothing.

    Each product's stock is refused below what customers reserved, by its own conditional
    UPDATE (_set_inventory). The caller rolls back on StockErrors. Returns how many changed.
    """
    check_owner(producer, actor)
    products = {product.id: product for product in queries.inventory_products(producer)}
    if not set(values) <= set(products):
        raise NotFound()  # not one of this producer's standing-stock products
    errors: dict[int, str] = {}
    changed = 0
    for product_id, text in sorted(values.items()):
        product = products[product_id]
        quantity, message = parse_inventory_field(text, product.sold_by_weight)
        if message:
            errors[product_id] = message
            continue
        if quantity == product.inventory_milli:
            continue
        try:
            _set_inventory(product, quantity)
        except FieldErrors as exc:
            errors[product_id] = exc.message
            continue
        changed += 1
    if errors:
        raise StockErrors(errors)
    db.session.flush()
    return changed


# --- Selling at markets ------------------------------------------------------------------

def check_ready_to_apply(producer: Producer) -> None:
    """Refuse (InvalidState) a producer without a story or a product: organizers decide on what
    they can see. The application page asks before showing its form; `apply_to_market` decides."""
    if not queries.onboarding(producer).ready_to_apply:
        raise InvalidState(str(_l("Before you apply, tell your story in your profile and add at least one product.")))


def apply_to_market(producer: Producer, actor: User, market: Market, message: str) -> Vendor:
    """Ask a market's organizers to accept the producer as a vendor (again, after a refusal)."""
    check_owner(producer, actor)
    if not market.active:
        raise NotFound()
    check_ready_to_apply(producer)
    vendor = db.session.scalar(select(Vendor).where(Vendor.market_id == market.id,
                                                    Vendor.producer_id == producer.id).with_for_update())
    if vendor is None:
        vendor = Vendor(market=market, producer=producer, status=VendorStatus.APPLIED,
                        message=message.strip())
        try:
            with db.session.begin_nested():
                db.session.add(vendor)
        except IntegrityError:
            raise InvalidState(str(_l("You have already applied to this market."))) from None
        return vendor
    if vendor.status == VendorStatus.REJECTED:
        vendor.status = VendorStatus.APPLIED
        vendor.message = message.strip()
        vendor.decision_reason = ""
        vendor.decided_by_id = None
        vendor.decided_at = None
        vendor.created_at = utcnow()
        db.session.flush()
        return vendor
    if vendor.status == VendorStatus.APPLIED:
        raise InvalidState(str(_l("You have already applied to this market; the organizers will answer.")))
    if vendor.status == VendorStatus.APPROVED:
        raise InvalidState(str(_l("You already sell at this market.")))
    raise InvalidState(str(_l("Your place at this market is suspended; please talk to the organizers.")))


def vendor_of(producer: Producer, vendor_id: int) -> Vendor:
    """The producer's own application, or NotFound."""
    vendor = db.session.scalar(select(Vendor).where(Vendor.id == vendor_id, Vendor.producer_id == producer.id))
    if vendor is None:
        raise NotFound()
    return vendor


def market_for_application(market_id: int) -> Market:
    """An active market one may apply to, or NotFound."""
    market = db.session.get(Market, market_id)
    if market is None or not market.active:
        raise NotFound()
    return market


def create_profile_on_registration(user: User, data: dict, **_extra) -> None:
    if data.get("account_type") == "producer":
        create_producer(user, data.get("producer_name") or user.name,
                        ProducerKind(data.get("producer_kind") or "farmer"))


def remove_unreserved_offers_of_day(market_day: MarketDay, **_extra) -> None:
    """A market day is being deleted: what was planned for it but not reserved goes with it."""
    db.session.execute(delete(Offer).where(Offer.market_day_id == market_day.id, Offer.reserved_milli == 0)
                       .execution_options(synchronize_session=False))
