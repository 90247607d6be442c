"""Country-scale data for the benchmark, loaded with bulk Core inserts.

At --scale 1.0: 2,000 producers, 50,000 products (Cyrillic — Russian, Kazakh, Kyrgyz —
and Latin names, indexed for search as the app indexes them), 100 markets with a year of
weekly market days and their pickup slots, offers for the coming market days, 200,000
past orders with their lines, reviews and certificates. Smaller scales shrink every count
but the markets' year of days.

    python bench/generate.py [--scale 0.1] [--database-url URL]

The database comes from --database-url, else BENCH_DATABASE_URL (not DATABASE_URL, so a
development database is never wiped by accident), else a SQLite file under bench/results/.
It is emptied and migrated (`flask db upgrade`) first. A PostgreSQL database is dropped and
re-created, and only when its name contains "bench" (e.g. aimak_bench).
Writes bench/results/dataset-<sqlite|postgresql>.json: the figures the load driver needs (ids, slugs, words).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time as clock
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
DEFAULT_SQLITE = RESULTS / "bench.sqlite"

#: Every generated account shares this password; its hash is cheap on purpose (pbkdf2, 1,000
#: rounds) so logging 200 buyers in before the checkout rush takes a second, not a minute.
PASSWORD = "bench-password-2026"
RUSH_BUYERS = 200
RUSH_UNITS_LEFT = 50
BATCH = 5000

CATEGORIES = [
    ("vegetables", "Vegetables"), ("fruit", "Fruit"), ("dairy", "Dairy"), ("meat", "Meat"),
    ("honey", "Honey"), ("bread", "Bread"), ("preserves", "Preserves"), ("seeds", "Seeds and seedlings"),
    ("textiles", "Felt and textiles"), ("ceramics", "Ceramics"), ("wood", "Wood"), ("herbs", "Herbs and tea"),
]
SUBCATEGORIES = [("root-vegetables", "Root vegetables", "vegetables"), ("greens", "Greens", "vegetables"),
                 ("berries", "Berries", "fruit"), ("dried-fruit", "Dried fruit", "fruit"),
                 ("cheese", "Cheese", "dairy"), ("kymyz", "Kymyz and shubat", "dairy")]

# (category slug, unit, by weight, inventory, base price in KZT, names in ru / kk / ky / en)
PRODUCTS = [
    ("root-vegetables", "kg", True, False, 400, ["Картофель", "Картоп", "Картошка", "Potatoes"]),
    ("root-vegetables", "kg", True, False, 350, ["Морковь", "Сәбіз", "Сабиз", "Carrots"]),
    ("root-vegetables", "kg", True, False, 300, ["Свёкла", "Қызылша", "Кызылча", "Beetroot"]),
    ("vegetables", "kg", True, False, 700, ["Огурцы", "Қияр", "Бадыраң", "Cucumbers"]),
    ("vegetables", "kg", True, False, 900, ["Томаты", "Қызанақ", "Помидор", "Tomatoes"]),
    ("vegetables", "kg", True, False, 250, ["Лук репчатый", "Пияз", "Пияз", "Onions"]),
    ("greens", "bunch", False, False, 200, ["Укроп", "Аскөк", "Укроп", "Dill"]),
    ("greens", "bunch", False, False, 250, ["Петрушка", "Ақжелкен", "Петрушка", "Parsley"]),
    ("fruit", "kg", True, False, 800, ["Яблоки апорт", "Алма апорт", "Алма", "Aport apples"]),
    ("fruit", "kg", True, False, 1200, ["Абрикосы", "Өрік", "Өрүк", "Apricots"]),
    ("berries", "kg", True, False, 1500, ["Облепиха", "Шырғанақ", "Чычырканак", "Sea buckthorn"]),
    ("berries", "kg", True, False, 2500, ["Клубника", "Құлпынай", "Кулпунай", "Strawberries"]),
    ("dried-fruit", "kg", True, True, 3000, ["Курага", "Кептірілген өрік", "Кургатылган өрүк", "Dried apricots"]),
    ("dairy", "l", False, False, 600, ["Молоко", "Сүт", "Сүт", "Milk"]),
    ("dairy", "kg", True, False, 2800, ["Творог", "Сүзбе", "Быштак", "Cottage cheese"]),
    ("dairy", "jar", False, False, 1500, ["Сметана", "Қаймақ", "Каймак", "Sour cream"]),
    ("cheese", "g", True, True, 12, ["Курт", "Құрт", "Курут", "Kurt"]),
    ("cheese", "kg", True, False, 5000, ["Сыр домашний", "Ірімшік", "Сыр", "Farm cheese"]),
    ("kymyz", "l", False, False, 1200, ["Кумыс", "Қымыз", "Кымыз", "Kymyz"]),
    ("kymyz", "l", False, False, 1000, ["Шубат", "Шұбат", "Шубат", "Shubat"]),
    ("meat", "kg", True, False, 4200, ["Баранина", "Қой еті", "Кой эти", "Lamb"]),
    ("meat", "kg", True, False, 3900, ["Говядина", "Сиыр еті", "Уй эти", "Beef"]),
    ("meat", "kg", True, False, 9000, ["Казы", "Қазы", "Казы", "Horse sausage"]),
    ("meat", "dozen", False, False, 1100, ["Яйца куриные", "Тауық жұмыртқасы", "Тоок жумурткасы", "Eggs"]),
    ("honey", "jar", False, True, 4500, ["Мёд", "Бал", "Бал", "Honey"]),
    ("honey", "g", True, True, 30, ["Перга", "Перга", "Перга", "Bee bread"]),
    ("bread", "piece", False, False, 900, ["Хлеб на закваске", "Ашытқы нан", "Ачыткы нан", "Sourdough bread"]),
    ("bread", "dozen", False, False, 1200, ["Баурсаки", "Бауырсақ", "Боорсок", "Baursaks"]),
    ("preserves", "jar", False, True, 1800, ["Варенье", "Тосап", "Кыям", "Jam"]),
    ("seeds", "piece", False, True, 300, ["Рассада томатов", "Қызанақ көшеті", "Помидор көчөтү", "Tomato seedlings"]),
    ("textiles", "piece", False, True, 60000, ["Шырдак", "Сырмақ", "Шырдак", "Shyrdak rug"]),
    ("textiles", "piece", False, True, 12000, ["Войлочные тапочки", "Киіз тәпішке", "Кийиз тапочка", "Felt slippers"]),
    ("ceramics", "piece", False, True, 3500, ["Кесе расписное", "Кесе", "Кесе", "Painted bowl"]),
    ("wood", "piece", False, True, 8000, ["Доска разделочная", "Тақтай", "Такта", "Cutting board"]),
    ("herbs", "g", True, True, 3, ["Чай горный", "Тау шайы", "Тоо чайы", "Mountain tea"]),
    ("herbs", "bunch", False, False, 250, ["Мята", "Жалбыз", "Жалбыз", "Mint"]),
]
QUALIFIERS = [
    ["молодой", "жаңа", "жаңы", "new season"], ["органический", "органикалық", "органикалык", "organic"],
    ["домашний", "үй", "үй", "homemade"], ["горный", "таулы", "тоолуу", "mountain"],
    ["таласский", "Талас", "Талас", "Talas"], ["степной", "дала", "талаа", "steppe"],
    ["отборный", "таңдаулы", "тандалган", "select"], ["фермерский", "фермерлік", "фермердик", "farm"],
]
FIRST = ["Гульнара", "Ерлан", "Асель", "Бакыт", "Айгүл", "Нурбек", "Гүлмира", "Мадина", "Сауле", "Берик",
         "Марат", "Жыпар", "Айжан", "Талгат", "Чолпон", "Динара", "Aigerim", "Nurlan", "Dana", "Timur"]
LAST = ["Садыкова", "Жумабеков", "Бекова", "Осмонов", "Токтосунова", "Абдыкалыков", "Асанова", "Омарова",
        "Исаев", "Kasymov", "Serikova", "Алиев", "Мамытова", "Сатыбалдиев", "Ermekova", "Нурланова"]
FARM_WORDS = ["ферма", "бау-бақша", "чарбасы", "Farm", "Honey", "Craft", "шеберхана", "үйі", "агро", "Organic"]
DISTRICTS = ["Шортандинский район", "Целиноградский район", "Аршалынский район", "Таласский район",
             "Манасский район", "Кочкорский район", "Тонский район", "Енбекшиказахский район", "Иссык-Кульский район"]
TOWNS_KZ = ["Астана", "Алматы", "Шымкент", "Караганда", "Степногорск", "Кокшетау", "Павлодар", "Тараз",
            "Актобе", "Костанай", "Семей", "Туркестан", "Талдыкорган", "Усть-Каменогорск"]
TOWNS_KG = ["Бишкек", "Ош", "Каракол", "Талас", "Нарын", "Джалал-Абад", "Токмок", "Чолпон-Ата"]
WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
SCHEMES = ["organic_third_party", "organic_pgs", "organic_district", "in_conversion", "halal", "handmade"]
REVIEW_TEXTS = ["Очень вкусно, спасибо!", "Керемет! Рахмат.", "Абдан даамдуу, рахмат!", "Fresh and friendly.",
                "Всё как на фото.", "Өте сапалы өнім.", ""]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the country-scale counts")
    parser.add_argument("--database-url", default=None, help="default: BENCH_DATABASE_URL, else a SQLite file")
    parser.add_argument("--seed", type=int, default=2026)
    return parser.parse_args(argv)


def database_url(given: str | None) -> str:
    return given or os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE}"


def reset_database(url: str) -> None:
    """An empty database at `url`: a fresh SQLite file, or a dropped and re-created PostgreSQL one."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        RESULTS.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    name = parsed.database
    if "bench" not in (name or ""):
        raise SystemExit(f"Refusing to wipe the database named {name!r}: its name must contain 'bench' (aimak_bench).")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def dataset_path(url: str) -> Path:
    """Where the figures of the data set last loaded into that kind of database are kept."""
    from sqlalchemy.engine import make_url

    return RESULTS / f"dataset-{make_url(url).get_backend_name()}.json"


class Loader:
    """Collects rows per table and inserts them in batches with executemany."""

    def __init__(self, conn, metadata):
        self.conn, self.metadata, self.counts = conn, metadata, {}

    def insert(self, table: str, rows: list[dict]) -> None:
        from sqlalchemy import insert

        target = self.metadata.tables[table]
        for start in range(0, len(rows), BATCH):
            self.conn.execute(insert(target), rows[start:start + BATCH])
        self.counts[table] = self.counts.get(table, 0) + len(rows)


def generate(scale: float, url: str, seed: int) -> dict:
    from flask_migrate import upgrade
    from sqlalchemy import Integer, bindparam, text, update
    from werkzeug.security import generate_password_hash

    from marketplace.cli import create_app
    from marketplace.core.extensions import db
    from marketplace.trust.services import Fulfilment, trust_score

    rnd = random.Random(seed)
    started = clock.monotonic()
    reset_database(url)
    app = create_app({"BASE_CONFIG": "development", "SQLALCHEMY_DATABASE_URI": url, "RATE_LIMITS_ON": False})
    n_producers = max(20, int(2000 * scale))
    n_products = max(500, int(50000 * scale))
    n_markets = 100 if scale >= 0.5 else max(10, int(100 * scale * 2))
    n_orders = max(2000, int(200000 * scale))
    n_customers = max(1000, int(20000 * scale))
    now = datetime.now(timezone.utc).replace(microsecond=0)
    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        engine = db.engine
        with engine.begin() as conn:
            load = Loader(conn, db.metadata)

            # --- Users: producers' owners, customers, organizers, the rush buyers -------------
            users, roles = [], []
            def add_user(email, name, role=None):
                uid = len(users) + 1
                users.append(dict(id=uid, email=email, password_hash=password_hash, name=name, phone="+7 701 000 00 00",
                                  locale=None, email_verified_at=now, session_token=f"bench-{uid}-{rnd.getrandbits(64):x}",
                                  active=True, created_at=now - timedelta(days=400)))
                if role:
                    roles.append(dict(user_id=uid, role=role))
                return uid
            organizer_ids = [add_user(f"organizer{i}@bench.test", f"Organizer {i}", "organizer") for i in range(10)]
            producer_user_ids = [add_user(f"producer{i}@bench.test", f"{rnd.choice(FIRST)} {rnd.choice(LAST)}", "producer")
                                 for i in range(n_producers)]
            customer_ids = [add_user(f"customer{i}@bench.test", f"{rnd.choice(FIRST)} {rnd.choice(LAST)}")
                            for i in range(n_customers)]
            [add_user(f"rush{i:03d}@bench.test", f"Rush Buyer {i}") for i in range(RUSH_BUYERS)]
            load.insert("user", users)
            load.insert("user_role", roles)

            # --- Categories ------------------------------------------------------------------
            categories, cat_id = [], {}
            for position, (slug, name) in enumerate(CATEGORIES):
                cat_id[slug] = len(categories) + 1
                categories.append(dict(id=cat_id[slug], parent_id=None, slug=slug, name=name, position=position))
            for slug, name, parent in SUBCATEGORIES:
                cat_id[slug] = len(categories) + 1
                categories.append(dict(id=cat_id[slug], parent_id=cat_id[parent], slug=slug, name=name, position=0))
            cat_name = {row["id"]: row["name"] for row in categories}
            load.insert("category", categories)

            # --- Markets, schedules, a year of weekly days with slots -----------------------
            markets, schedules, days, slots, organizers = [], [], [], [], []
            slot_ids: dict[int, list[int]] = {}
            days_of_market: dict[int, list[dict]] = {}
            for m in range(1, n_markets + 1):
                kg = m % 4 == 0
                town = rnd.choice(TOWNS_KG if kg else TOWNS_KZ)
                zone = "Asia/Bishkek" if kg else "Asia/Almaty"
                name = f"{town}: фермерский рынок №{m}" if m % 3 else f"{town} Farmers' Market {m}"
                markets.append(dict(id=m, name=name, slug=f"market-{m}", description="Фермерский рынок / farmers' market",
                                    address=f"{town}, ул. Абая {m}", lat=43.0 + m * 0.05, lon=71.0 + m * 0.03,
                                    timezone=zone, currency="KGS" if kg else "KZT", commission_bp=500,
                                    accepts_cash=True, ordering_opens_days_before=9, cutoff_days_before=1,
                                    cutoff_local_time=time(20, 0), photo_id=None, active=True,
                                    created_at=now - timedelta(days=400)))
                organizers.append(dict(market_id=m, user_id=organizer_ids[m % len(organizer_ids)]))
                weekday = (m * 3) % 7  # markets spread over the week, so some day is always orderable
                schedules.append(dict(id=m, market_id=m, rrule=f"FREQ=WEEKLY;BYDAY={WEEKDAYS[weekday]}",
                                      opens_local=time(8, 0), closes_local=time(14, 0), weeks_ahead=8,
                                      slot_minutes=45, slot_capacity=60, active=True, created_at=now - timedelta(days=400)))
                tz = ZoneInfo(zone)
                today = now.astimezone(tz).date()
                # The first day whose cutoff (the day before, 20:00) is still ahead, then 44 weeks back, 8 ahead.
                first = today + timedelta(days=(weekday - today.weekday()) % 7)
                if first <= today + timedelta(days=1):
                    first += timedelta(days=7)
                days_of_market[m] = []
                for week in range(-44, 8):
                    local = first + timedelta(weeks=week)
                    opens = datetime.combine(local, time(8, 0), tz).astimezone(timezone.utc)
                    closes = datetime.combine(local, time(14, 0), tz).astimezone(timezone.utc)
                    cutoff = datetime.combine(local - timedelta(days=1), time(20, 0), tz).astimezone(timezone.utc)
                    day = dict(id=len(days) + 1, market_id=m, schedule_id=m, date=local, opens_at=opens, closes_at=closes,
                               ordering_opens_at=opens - timedelta(days=9), cutoff_at=cutoff,
                               status="closed" if week < 0 else "scheduled", title="", cancel_reason="",
                               cancelled_at=None, created_at=now - timedelta(days=400))
                    days.append(day)
                    days_of_market[m].append(day)
                    slot_ids[day["id"]] = []
                    for s in range(8):
                        starts = opens + timedelta(minutes=45 * s)
                        slot_ids[day["id"]].append(len(slots) + 1)
                        slots.append(dict(id=len(slots) + 1, market_day_id=day["id"], starts_at=starts,
                                          ends_at=starts + timedelta(minutes=45), capacity=60, reserved=0))
            load.insert("market", markets)
            load.insert("market_organizer", organizers)
            load.insert("market_schedule", schedules)
            load.insert("market_day", days)
            load.insert("pickup_slot", slots)

            # --- Producers and where they sell ----------------------------------------------
            producers, vendors, certs = [], [], []
            markets_of_producer: dict[int, list[int]] = {}
            for p in range(1, n_producers + 1):
                kind = rnd.choices(["farmer", "craftsman", "processor"], [70, 15, 15])[0]
                name = f"{rnd.choice(FIRST)} {rnd.choice(LAST)} — {rnd.choice(FARM_WORDS)}"
                country_kg = p % 4 == 0
                producers.append(dict(id=p, user_id=producer_user_ids[p - 1], kind=kind, name=name,
                                      slug=f"producer-{p}", story="Семейное хозяйство. Family farm since 2010.",
                                      district=rnd.choice(DISTRICTS), organic_district="Талас органик аймагы" if p % 10 == 0 else "",
                                      country="KG" if country_kg else "KZ", currency="KGS" if country_kg else "KZT",
                                      lat=None, lon=None, photo_id=None, trust_score=0, rating_count=0, rating_sum=0,
                                      created_at=now - timedelta(days=rnd.randint(30, 400))))
                same_country = [m["id"] for m in markets if (m["currency"] == "KGS") == country_kg]
                chosen = rnd.sample(same_country, k=min(len(same_country), rnd.choice([1, 1, 2, 2, 3])))
                markets_of_producer[p] = chosen
                for m in chosen:
                    vendors.append(dict(id=len(vendors) + 1, market_id=m, producer_id=p, status="approved",
                                        stall=f"{rnd.randint(1, 200)}", message="", decision_reason="",
                                        decided_by_id=organizer_ids[m % len(organizer_ids)],
                                        decided_at=now - timedelta(days=300), created_at=now - timedelta(days=310)))
                for _ in range(rnd.choice([0, 1, 1, 2])):
                    start = date.today() - timedelta(days=rnd.randint(30, 600))
                    status = rnd.choices(["verified", "pending", "rejected", "expired"], [70, 15, 5, 10])[0]
                    certs.append(dict(id=len(certs) + 1, producer_id=p, scheme=rnd.choice(SCHEMES),
                                      issuer="ОО «Органик Аймак»", number=f"KZ-ORG-{p:05d}-{len(certs)}",
                                      scope="Овощи, мёд", valid_from=start, valid_until=start + timedelta(days=730),
                                      document_id=None, status=status,
                                      decided_by_id=organizer_ids[0] if status != "pending" else None,
                                      decided_at=now - timedelta(days=20) if status != "pending" else None,
                                      decision_reason="", expiry_reminder_sent_at=None, created_at=now - timedelta(days=40)))
            load.insert("producer", producers)
            load.insert("vendor", vendors)
            load.insert("certification", certs)

            # --- Products, one photo each, offers for the coming market days ----------------
            products, images, photos, offers = [], [], [], []
            products_of_producer: dict[int, list[dict]] = {p: [] for p in range(1, n_producers + 1)}
            for i in range(1, n_products + 1):
                p = rnd.randint(1, n_producers)
                producer = producers[p - 1]
                cat, unit, by_weight, inventory, base, names = rnd.choice(PRODUCTS)
                lang = rnd.choices([0, 1, 2, 3], [45, 20, 15, 20])[0]
                qualifier = rnd.choice(QUALIFIERS)[lang]
                name = f"{names[lang]} {qualifier}" if rnd.random() < 0.8 else names[lang]
                price = max(1, int(base * rnd.uniform(0.6, 1.6)) * (100 if producer["currency"] == "KZT" else 20) // 100)
                description = f"{names[0]} от {producer['name']}. {names[3]}, {qualifier}."
                products.append(dict(
                    id=i, producer_id=p, category_id=cat_id[cat], name=name, description=description, unit=unit,
                    price_minor=price * 100, currency=producer["currency"], sold_by_weight=by_weight,
                    stock_mode="inventory" if inventory else "per_market_day",
                    inventory_milli=rnd.randint(5, 200) * 1000 if inventory else 0, inventory_reserved_milli=0,
                    active=rnd.random() > 0.03,
                    search_text="",  # indexed below, as the app indexes a product (search.tasks.reindex)
                    created_at=now - timedelta(days=rnd.randint(1, 365), seconds=i), updated_at=now))
                products_of_producer[p].append(products[-1])
                images.append(dict(id=i, key=f"bench{i:08d}", owner_id=producer["user_id"], width=800, height=600,
                                   alt=name[:200], created_at=now))
                photos.append(dict(id=i, product_id=i, image_id=i, position=0))
                if not inventory:
                    for m in markets_of_producer[p]:
                        for day in days_of_market[m][44:48]:  # the next four market days
                            quantity = rnd.randint(5, 80) * 1000
                            offers.append(dict(id=len(offers) + 1, product_id=i, market_day_id=day["id"],
                                               quantity_milli=quantity, reserved_milli=0,
                                               price_minor=None if rnd.random() > 0.1 else price * 90))
            # The checkout rush: one product whose next market day has 300 pieces, 250 taken already.
            rush_product = products[0]
            rush_product.update(stock_mode="per_market_day", active=True, unit="piece", sold_by_weight=False,
                                inventory_milli=0)
            rush_market = markets_of_producer[rush_product["producer_id"]][0]
            rush_day = days_of_market[rush_market][44]
            offers = [o for o in offers if o["product_id"] != rush_product["id"]]
            rush_offer_id = len(offers) + 1 + n_products  # ids need only be unique
            offers.append(dict(id=rush_offer_id, product_id=rush_product["id"], market_day_id=rush_day["id"],
                               quantity_milli=(250 + RUSH_UNITS_LEFT) * 1000, reserved_milli=250 * 1000, price_minor=None))
            load.insert("image", images)
            load.insert("product", products)
            load.insert("product_photo", photos)
            load.insert("offer", offers)

            # --- Past orders with lines, reviews ----------------------------------------------
            orders, lines, reviews = [], [], []
            sellers_of_market: dict[int, list[int]] = {}
            for row in vendors:
                if products_of_producer[row["producer_id"]]:
                    sellers_of_market.setdefault(row["market_id"], []).append(row["producer_id"])
            market_ids = sorted(sellers_of_market)
            codes_of_day: dict[int, set] = {}
            rating = {}
            for o in range(1, n_orders + 1):
                m = rnd.choice(market_ids)
                day = rnd.choice(days_of_market[m][:44])
                customer = rnd.choice(customer_ids)
                status = rnd.choices(["picked_up", "cancelled", "no_show", "expired"], [85, 8, 4, 3])[0]
                codes = codes_of_day.setdefault(day["id"], set())
                while True:
                    code = "".join(rnd.choice("23456789ABCDEFGHJKMNPQRSTUVWXYZ") for _ in range(6))
                    if code not in codes:
                        codes.add(code)
                        break
                order_lines, seen = [], set()
                for _ in range(rnd.choice([1, 1, 2, 2, 3, 4])):
                    producer_id = rnd.choice(sellers_of_market[m])
                    product = rnd.choice(products_of_producer[producer_id])
                    if product["id"] in seen:
                        continue
                    seen.add(product["id"])
                    quantity = rnd.randint(1, 4) * (500 if product["sold_by_weight"] else 1000)
                    unit_price = product["price_minor"]
                    total = unit_price * quantity // 1000
                    order_lines.append(dict(
                        id=len(lines) + 1, order_id=o, producer_id=producer_id, product_id=product["id"], offer_id=None,
                        product_name=product["name"], unit=product["unit"], sold_by_weight=product["sold_by_weight"],
                        quantity_milli=quantity, actual_quantity_milli=quantity if status == "picked_up" else None,
                        unit_price_minor=unit_price, line_total_minor=total,
                        status={"picked_up": "packed", "no_show": "packed"}.get(status, "cancelled"),
                        packed_at=day["opens_at"] if status in {"picked_up", "no_show"} else None))
                    lines.append(order_lines[-1])
                subtotal = sum(line["line_total_minor"] for line in order_lines)
                placed = day["opens_at"] - timedelta(hours=rnd.randint(16, 160))
                orders.append(dict(
                    id=o, customer_id=customer, market_day_id=day["id"], pickup_slot_id=rnd.choice(slot_ids[day["id"]]),
                    pickup_code=code, payment_method=rnd.choice(["cash", "card"]), status=status,
                    subtotal_minor=subtotal, total_minor=subtotal, currency=markets[m - 1]["currency"], phone="+7 701 000 00 00",
                    hold_until=None, idempotency_key=None,
                    stock_released_at=placed + timedelta(hours=1) if status in {"cancelled", "expired", "no_show"} else None,
                    cash_received_minor=None, cancel_reason="", cancelled_by_id=None, handed_over_by_id=None,
                    reminder_sent_at=None, created_at=placed, confirmed_at=placed if status != "expired" else None,
                    ready_at=day["opens_at"] if status in {"picked_up", "no_show"} else None,
                    picked_up_at=day["opens_at"] + timedelta(hours=1) if status == "picked_up" else None,
                    cancelled_at=placed + timedelta(hours=1) if status == "cancelled" else None,
                    no_show_at=day["closes_at"] if status == "no_show" else None))
                if status == "picked_up" and rnd.random() < 0.3:
                    for producer_id in {line["producer_id"] for line in order_lines}:
                        stars = rnd.choices([5, 4, 3, 2, 1], [60, 25, 8, 4, 3])[0]
                        reviews.append(dict(id=len(reviews) + 1, order_id=o, producer_id=producer_id, customer_id=customer,
                                            rating=stars, text=rnd.choice(REVIEW_TEXTS), reply="", replied_at=None,
                                            status="published", hidden_reason="", created_at=day["closes_at"] + timedelta(days=1)))
                        count, total = rating.get(producer_id, (0, 0))
                        rating[producer_id] = (count + 1, total + stars)
            load.insert("order", orders)
            # As checkout leaves it: a slot an order was placed in is marked used.
            load.conn.execute(text('UPDATE pickup_slot SET used = true WHERE id IN (SELECT pickup_slot_id FROM "order")'))
            load.insert("order_line", lines)
            load.insert("review", reviews)

            # Stored trust figures, as trust.services would have left them after these orders.
            delivered: dict[int, int] = {}
            status_of = {o["id"]: o["status"] for o in orders}
            for line in lines:
                if status_of[line["order_id"]] == "picked_up":
                    delivered[line["producer_id"]] = delivered.get(line["producer_id"], 0) + 1
            producer_table = db.metadata.tables["producer"]
            figures = []
            for p in range(1, n_producers + 1):
                count, total = rating.get(p, (0, 0))
                items = delivered.get(p, 0)
                figures.append(dict(pid=p, rating_count=count, rating_sum=total,
                                    trust_score=trust_score(total, count, Fulfilment(items, items))))
            conn.execute(update(producer_table).where(producer_table.c.id == bindparam("pid")), figures)

            if engine.dialect.name == "postgresql":
                # Rows came with explicit ids: move every id sequence past them.
                for table in db.metadata.sorted_tables:
                    if "id" in table.c and table.c.id.primary_key and isinstance(table.c.id.type, Integer):
                        conn.execute(text(
                            f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                            f"COALESCE((SELECT MAX(id) FROM \"{table.name}\"), 0) + 1, false)"))
        # Every product's search column and the search word list, as `flask reindex-search` makes them.
        from marketplace.search.tasks import reindex

        indexing_started = clock.monotonic()
        reindex()
        indexing_seconds = round(clock.monotonic() - indexing_started, 1)
        # Statistics for the planner (`flask analyze-database`, as a nightly job would), and
        # on PostgreSQL the visibility map too (VACUUM), so index-only scans read the index
        # alone, as they do once autovacuum has run.
        from marketplace.cli import analyze

        analyze(engine)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM"))

    dataset = dict(
        database_url=url, scale=scale, generated_at=now.isoformat(), seconds=round(clock.monotonic() - started, 1),
        counts=load.counts, password=PASSWORD, indexing_seconds=indexing_seconds,
        deep_page=max(1, min(1000, n_products // 24 // 2)),
        producer_slug=f"producer-{max(range(1, n_producers + 1), key=lambda p: len(products_of_producer[p]))}",
        product_id=next(row["id"] for row in products[1:] if row["active"]),
        market_slug=f"market-{rush_market}", category="vegetables",
        search_words=["картоп", "мёд горный", "кымыз", "сүт"],
        rush=dict(product_id=rush_product["id"], offer_id=rush_offer_id, market_day_id=rush_day["id"],
                  slot_ids=slot_ids[rush_day["id"]], buyers=[u["email"] for u in users[-RUSH_BUYERS:]],
                  units_left=RUSH_UNITS_LEFT, reserved_before_milli=250 * 1000),
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    dataset_path(url).write_text(json.dumps(dataset, ensure_ascii=False, indent=1, default=str))
    return dataset


def main(argv=None) -> None:
    args = parse_args(argv)
    dataset = generate(args.scale, database_url(args.database_url), args.seed)
    print(f"Loaded in {dataset['seconds']} s into {dataset['database_url']}:")
    for table, count in dataset["counts"].items():
        print(f"  {table:16} {count:>9,}")


if __name__ == "__main__":
    main()
