"""The external anchor: a bare Flask + Jinja2 page of 24 product cards from memory.

The reference every catalog page is measured against (bench/run.py, in the same run):
what a page of product cards costs in this stack with nothing of ours in it. It imports
nothing from `marketplace` — no database, no i18n, no page cache, no request hooks or
security headers — and renders `anchor_templates/products.html` (a base template with a
head, header and footer; 24 cards with a photo, name, price per unit, producer and two
certification badges, linked to the product and the producer with `url_for`) from a list
built once at start-up. The card's markup is about the size of our real product card with
two badges (`templates/catalog/_macros.html`): about 1.25 KB here, 1.4 KB there.

    gunicorn 'bench.anchor:create_anchor_app()'      # serves GET /anchor
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from flask import Flask, render_template

TEMPLATES = Path(__file__).resolve().parent / "anchor_templates"
CARDS = 24
CURRENCY_SIGNS = {"KZT": "₸", "KGS": "KGS"}

PRODUCT_NAMES = [
    ("Картофель молодой", "kg"), ("Мёд горный", "jar"), ("Қымыз жаңа", "l"), ("Сыр брынза", "kg"),
    ("Яйца домашние", "dozen"), ("Морковь мытая", "kg"), ("Horse sausage homemade", "kg"),
    ("Шырдак войлочный", "piece"), ("Айран", "l"), ("Курут солёный", "g"), ("Укроп", "bunch"),
    ("Абрикосы сушёные", "kg"), ("Нан табанан", "piece"), ("Варенье из облепихи", "jar"),
]
PRODUCERS = [
    ("Айжан Нурланова — ферма", "aizhan-nurlanova"), ("Nurlan Kasymov — шеберхана", "nurlan-kasymov"),
    ("Гульнара Токтогулова — пасека", "gulnara-toktogulova"), ("Ерлан Сейткали — бау", "erlan-seitkali"),
    ("Бермет Асанова — сыроварня", "bermet-asanova"), ("Марат Жумабаев — огород", "marat-zhumabaev"),
]
BADGES = [
    ("PGS organic", "ОО «Органик Аймак»", "KZ-ORG-00076-79", date(2027, 6, 11)),
    ("Halal", "Духовное управление мусульман", "HL-2025-0412", date(2027, 10, 5)),
    ("Organic (third party)", "Kyrgyz Organic Certification", "KG-BIO-1187", date(2028, 3, 18)),
    ("Handmade", "Союз ремесленников", "HM-0099", date(2027, 1, 30)),
]


@dataclass(frozen=True)
class Badge:
    label: str
    issuer: str
    number: str
    valid_until: date


@dataclass(frozen=True)
class Card:
    id: int
    name: str
    unit: str
    price_minor: int
    currency: str
    photo: str
    producer_name: str
    producer_slug: str
    badges: tuple[Badge, ...]


def create_anchor_app() -> Flask:
    app = Flask(__name__, template_folder=str(TEMPLATES))
    app.add_template_filter(money)
    app.add_template_filter(day)
    # Link targets only: the cards link to them with url_for, nothing serves them.
    app.add_url_rule("/products/<int:product_id>", endpoint="product", build_only=True)
    app.add_url_rule("/producers/<slug>", endpoint="producer", build_only=True)
    cards = make_cards(CARDS)

    @app.route("/anchor")
    def products():
        return render_template("products.html", products=cards)

    return app


def make_cards(count: int) -> list[Card]:
    """`count` varied cards: names in four languages, two badges each."""
    return [make_card(index) for index in range(count)]


def make_card(index: int) -> Card:
    name, unit = PRODUCT_NAMES[index % len(PRODUCT_NAMES)]
    producer_name, producer_slug = PRODUCERS[index % len(PRODUCERS)]
    product_id = 2000 + 37 * index
    return Card(id=product_id, name=name, unit=unit, price_minor=(450 + 173 * index) * 100,
                currency="KZT" if index % 3 else "KGS", photo=f"img/products/{product_id}_400.jpg",
                producer_name=producer_name, producer_slug=producer_slug,
                badges=tuple(Badge(*BADGES[(index + shift) % len(BADGES)]) for shift in (0, 1)))


def money(amount_minor: int, currency: str) -> str:
    """Whole units with thousands separators: 154600 KZT → ₸1,546 (the minor units are always 00 here)."""
    return f"{CURRENCY_SIGNS.get(currency, currency)}{amount_minor // 100:,}"


def day(value: date) -> str:
    return f"{value.day} {value:%b %Y}"
