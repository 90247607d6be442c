"""The demo's market life, so the back office has something to show (issue 21's "Done when"):
market days held in the past with orders handed over (the producer's sales chart, the
organizer's settlement), a market day today with orders waiting at the pickup point, and a
producer's application waiting with a certificate document to look at.

Everything goes through the real services (checkout, weighing, hand-over, closing a day,
applying, uploading a certificate) at the moments it would have happened, so the figures
are the ones a real market would have; only the clock is passed in.
"""
from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont
from sqlalchemy import select

from marketplace.accounts.models import Role, User
from marketplace.core.extensions import db
from marketplace.markets.models import Market, MarketDay, MarketSchedule
from marketplace.markets.services import create_market_day, local_today, occurrences
from marketplace.orders import services as orders
from marketplace.orders.models import Order, PaymentMethod
from marketplace.pickup import services as pickup
from marketplace.producers.models import Producer, Product
from marketplace.producers.services import apply_to_market
from marketplace.trust.models import CertificationScheme
from marketplace.trust.services import upload_certificate

#: Customers besides the demo customer (who buys on every day): (email, name, phone).
BUYERS = [
    ("buyer1@aimak.test", "Марина Ким", "+7 702 318 44 90"),
    ("buyer2@aimak.test", "Ербол Сапаров", "+7 747 602 15 33"),
]
#: Saturdays held at the Stepnogorsk market before today (the sales chart has several bars).
HELD_WEEKS = 3
#: What each customer takes on a held day: product name → quantity in thousandths (a
#: by-weight line is weighed at the stall a little off the estimate, as scales are).
HELD_BASKETS = {
    "stepnogorsk": [
        {"Картофель молодой": 2000, "Морковь": 1000, "Укроп": 1000, "Хлеб на закваске": 1000},
        {"Мёд степной разнотравье": 1000, "Томаты розовые": 1500, "Баурсаки": 1000},
        {"Кесе расписное": 2000, "Огурцы грунтовые": 1000, "Картофель молодой": 3000},
    ],
    "astana": [
        {"Молоко коровье": 2000, "Творог домашний": 500, "Баранина (lamb)": 1500},
        {"Картофель молодой": 3000, "Сметана": 1000, "Мёд донниковый": 1000},
    ],
}
#: Today's orders at the Stepnogorsk market: (basket, slot, handed over already). The demo
#: customer's waits in the slot of the moment, another later; the first slot's is handed over
#: (the day's settlement has a figure even on the 1st of a month, when the held days are last month's).
TODAY_BASKETS = [
    ({"Картофель молодой": 2000, "Укроп": 2000, "Хлеб на закваске": 1000}, "now", False),
    ({"Мёд донниковый": 1000, "Баурсаки": 1000}, "later", False),
    ({"Морковь": 1500, "Кесе расписное": 1000}, "first", True),
]
#: The producer who applies to a second market, and what they send with it.
APPLICANT = "Ерлан Жумабеков"
APPLICATION_MARKET = "stepnogorsk"
APPLICATION_MESSAGE = ("Продаю молочное на рынке в Астане с прошлого года. Хотел бы приезжать и в Степногорск по "
                       "субботам: молоко, творог и курт, есть холодильник в машине.")
CERTIFICATE = dict(scheme=CertificationScheme.ORGANIC_THIRD_PARTY, issuer="ТОО «Органик Серт Казахстан»",
                   number="KZ-ORG-2026-0417", scope="Молоко коровье, творог, сметана, сливочное масло")


def add_days(markets: dict[str, Market], now: datetime) -> None:
    """Held days before today (Stepnogorsk's last Saturdays, Astana's last Sunday) and a day today
    at Stepnogorsk; made before the producers, so they bring something to each (as to every day)."""
    for key, weeks in (("stepnogorsk", HELD_WEEKS), ("astana", 1)):
        market, schedule = markets[key], _schedule(markets[key])
        today = local_today(market, now)
        for day in occurrences(schedule.rrule, today - timedelta(weeks=weeks), today - timedelta(days=1)):
            create_market_day(market, day, schedule.opens_local, schedule.closes_local, schedule_id=schedule.id,
                              slot_minutes=30, slot_capacity=20)
    _today(markets["stepnogorsk"], now)


def _schedule(market: Market) -> MarketSchedule:
    return db.session.scalar(select(MarketSchedule).where(MarketSchedule.market_id == market.id))


def _today(market: Market, now: datetime) -> MarketDay:
    """A day today, open around now (at 21:00 a morning market would be over before anyone looks);
    the schedule's own day when it already made one today (its days start at the UTC date)."""
    schedule = _schedule(market)
    local_now = now.astimezone(ZoneInfo(market.timezone))
    today = local_now.date()
    made = _day_on(market, today)
    if made is not None:
        return made
    opens = time(max(0, min(schedule.opens_local.hour, local_now.hour - 2)), 0)
    closes = time(local_now.hour + 3, 0) if local_now.hour + 3 <= 23 else time(23, 59)
    closes = max(closes, schedule.closes_local)
    regular = today in occurrences(schedule.rrule, today, today)
    return create_market_day(market, today, opens, closes, schedule_id=schedule.id if regular else None,
                             slot_minutes=60, slot_capacity=20)


def add_activity(users: dict[str, User], markets: dict[str, Market], producers: dict[str, Producer],
                 now: datetime) -> None:
    """The orders of the held days (weighed, handed over, the day closed), today's orders, and an application."""
    customers = [users["customer"]] + [_buyer(users["customer"], *buyer) for buyer in BUYERS]
    products = {p.name: p for p in db.session.scalars(select(Product))}
    organizer = users["organizer"]
    for key, baskets in HELD_BASKETS.items():
        market = markets[key]
        held = [day for day in _days(market) if day.date < local_today(market, now)]
        for week, day in enumerate(held):
            for customer, basket in zip(customers, baskets):
                # Later weeks sell a little more: the chart shows a market growing.
                items = {products[name]: milli * (week + 2) // 2 if products[name].sold_by_weight else milli
                         for name, milli in basket.items()}
                order = _order(customer, day, items, day.slots[week % len(day.slots)])
                _weigh(order)
                pickup.hand_over(order, organizer, now=order.pickup_slot.starts_at + timedelta(minutes=10))
            pickup.close_market_day(day, now=pickup.day_over_at(day) + timedelta(minutes=1))
    day = _day_on(markets["stepnogorsk"], local_today(markets["stepnogorsk"], now))
    slots = _slots_of_today(day, now)
    for customer, (basket, when, handed_over) in zip(customers, TODAY_BASKETS):
        order = _order(customer, day, {products[name]: milli for name, milli in basket.items()}, slots[when])
        if handed_over:
            _weigh(order)
            # Seeded after midnight into the schedule's own morning day, the customer came early.
            pickup.hand_over(order, organizer, now=now, confirm={pickup.EARLY})
    _application(producers[APPLICANT], markets[APPLICATION_MARKET], now)


def _buyer(customer: User, email: str, name: str, phone: str) -> User:
    # The demo customer's password hash: one password for every demo account, hashed once. Buyers at
    # Kazakh markets, like her: their messages in her language.
    user = User(email=email, name=name, phone=phone, password_hash=customer.password_hash,
                email_verified_at=customer.email_verified_at, locale=None, last_locale=customer.last_locale)
    user.add_role(Role.CUSTOMER)
    db.session.add(user)
    db.session.flush()
    return user


def _days(market: Market) -> list[MarketDay]:
    return list(db.session.scalars(select(MarketDay).where(MarketDay.market_id == market.id)
                                   .order_by(MarketDay.date)))


def _day_on(market: Market, day: date) -> MarketDay | None:
    return db.session.scalar(select(MarketDay).where(MarketDay.market_id == market.id, MarketDay.date == day))


def _slots_of_today(day: MarketDay, now: datetime) -> dict:
    slots = sorted(day.slots, key=lambda slot: slot.starts_at)
    current = next((i for i, slot in enumerate(slots) if slot.ends_at > now), len(slots) - 1)
    return {"first": slots[0], "now": slots[current], "later": slots[min(current + 1, len(slots) - 1)]}


def _order(customer: User, day: MarketDay, items: dict[Product, int], slot) -> Order:
    """Checkout as the customer did it, an hour after ordering opened for the day."""
    return orders.place_order(customer, day.id, {product.id: milli for product, milli in items.items()},
                              slot_id=slot.id, payment_method=PaymentMethod.CASH, phone=customer.phone or "",
                              idempotency_key=f"demo-{day.id}-{customer.id}",
                              now=day.ordering_opens_at + timedelta(hours=1))


def _weigh(order: Order) -> None:
    """The producers weigh their by-weight lines at the stall: 3% over the estimate, as it goes."""
    for line in order.lines:
        if line.sold_by_weight:
            orders.record_weight(line, line.producer, line.producer.user, line.quantity_milli * 103 // 100)


def _application(producer: Producer, market: Market, now: datetime) -> None:
    """The applicant uploads a certificate (a scanned page: a PDF holding a picture) and applies."""
    today = now.date()
    valid_from, valid_until = today - timedelta(days=120), today + timedelta(days=245)
    scan = certificate_pdf(producer.name, producer.district, valid_from, valid_until)
    upload_certificate(producer, producer.user, valid_from=valid_from, valid_until=valid_until,
                       stream=io.BytesIO(scan), filename="сертификат-органик.pdf", today=today, **CERTIFICATE)
    apply_to_market(producer, producer.user, market, APPLICATION_MESSAGE)


# --- The certificate's scan --------------------------------------------------------------

def certificate_pdf(holder: str, district: str, valid_from: date, valid_until: date) -> bytes:
    """A one-page certificate as a scanner would make it: a picture inside a PDF (Pillow writes both)."""
    page = PILImage.new("RGB", (620, 877), (252, 250, 242))
    draw = ImageDraw.Draw(page)
    draw.rectangle((18, 18, 601, 858), outline=(40, 100, 60), width=6)
    draw.rectangle((32, 32, 587, 844), outline=(150, 180, 150), width=2)
    lines = [
        (40, "СЕРТИФИКАТ", 60), (22, "органического производства", 112),
        (18, f"№ {CERTIFICATE['number']}", 170),
        (18, "Выдан:", 240), (24, holder, 272), (16, f"{district}, Акмолинская область", 310),
        (18, "Продукция:", 370), (16, CERTIFICATE["scope"], 400),
        (16, "соответствует требованиям Закона РК", 450), (16, "«О производстве органической продукции»", 474),
        (18, f"Действителен с {valid_from:%d.%m.%Y} по {valid_until:%d.%m.%Y}", 530),
        (16, f"Орган по сертификации: {CERTIFICATE['issuer']}", 700),
    ]
    for size, text, y in lines:
        font = _font(size)
        width = draw.textlength(text, font=font)
        draw.text(((620 - min(width, 560)) / 2, y), text, font=font, fill=(30, 40, 30))
    draw.ellipse((420, 730, 560, 830), outline=(40, 70, 160), width=4)  # the certifier's stamp
    draw.text((448, 770), "ОРГАНИК", font=_font(16), fill=(40, 70, 160))
    out = io.BytesIO()
    page.save(out, "PDF", resolution=75.0)
    return out.getvalue()


@lru_cache(maxsize=8)
def _font(size: int):
    """DejaVu Sans where the system has it (it draws Cyrillic); else Pillow's own font."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)
