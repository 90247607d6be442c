"""Believable demo data for our first users (`flask seed-demo`)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, select

from marketplace.accounts.models import Role, User
from marketplace.accounts.services import hash_password
from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.core.text import slugify
from marketplace.demo_activity import add_activity, add_days
from marketplace.demo_pictures import (
    FALLBACK,
    Look,
    demo_picture,
    market_picture,
    producer_look,
)
from marketplace.groups.models import (
    Answer,
    Decision,
    Group,
    GroupCoordinator,
    GroupKind,
    GroupPhoto,
    MarketRecognition,
    Membership,
    MembershipEvent,
    MembershipStatus,
    Outcome,
    ReviewerRole,
    Standard,
    StandardItem,
    Visit,
    VisitAnswer,
    VisitReviewer,
    VisitStatus,
)
from marketplace.markets.models import (
    Market,
    MarketOrganizer,
    MarketSchedule,
    Vendor,
    VendorStatus,
)
from marketplace.markets.services import create_market_day, occurrences
from marketplace.media.services import save_image
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
from marketplace.producers.services import refresh_search_text
from marketplace.trust.models import (
    Certification,
    CertificationScheme,
    CertificationStatus,
)
from marketplace.trust.services import apply_group_decision, recompute_trust

DEMO_PASSWORD = "aimak-demo-2026"
DEMO_ACCOUNTS = {
    "admin": ("admin@aimak.test", "Aigerim Admin", [Role.ADMIN]),
    "organizer": ("organizer@aimak.test", "Nurlan Organizer", [Role.ORGANIZER]),
    "organizer_kg": ("organizer.kg@aimak.test", "Cholpon Organizer", [Role.ORGANIZER]),
    "customer": ("customer@aimak.test", "Dana Customer", []),
    "producer": ("producer@aimak.test", "Gulnara Sadykova", [Role.PRODUCER]),
    # Coordinators are a role scoped to their group (GroupCoordinator), not a site-wide role.
    "coordinator": ("coordinator@aimak.test", "Жылдыз Мамбетова", []),
    "coordinator_kz": ("school@aimak.test", "Алия Нурпеисова", []),
    "adviser": ("adviser@aimak.test", "Эркин Садыков", []),
}
#: Checkout fills in the phone number a customer keeps on their account.
DEMO_PHONES = {"customer": "+7 701 234 56 78"}

CATEGORIES = [
    ("vegetables", "Vegetables"), ("fruit", "Fruit"), ("dairy", "Dairy"), ("meat", "Meat"),
    ("honey", "Honey"), ("bread", "Bread"), ("preserves", "Preserves"),
    ("seeds", "Seeds and seedlings"), ("textiles", "Felt and textiles"), ("ceramics", "Ceramics"),
    ("wood", "Wood"), ("herbs", "Herbs and tea"),
]

MARKETS = [
    dict(key="stepnogorsk", name="Степногорский фермерский рынок", address="Степногорск, 4-й микрорайон, площадь у ДК «Горняк»",
         lat=52.3519, lon=71.8876, timezone="Asia/Almaty", currency="KZT", commission_bp=500,
         description="Еженедельный фермерский рынок: овощи, молочное, мёд от хозяйств Акмолинской области.",
         rule="FREQ=WEEKLY;BYDAY=SA", opens=time(8, 0), closes=time(13, 0), organizer="organizer",
         stall=["potato", "carrot", "basket", "milk", "honey-pot"], awning=((47, 111, 178), (240, 240, 232))),
    dict(key="astana", name="Astana Farmers' Market", address="Astana, Kabanbay Batyr Ave 21, Central Park entrance",
         lat=51.1282, lon=71.4304, timezone="Asia/Almaty", currency="KZT", commission_bp=700,
         description="Saturday and Sunday market of organic and small farms around Astana.",
         rule="FREQ=WEEKLY;BYDAY=SU", opens=time(9, 0), closes=time(14, 0), organizer="organizer",
         stall=["tomato", "apple", "basket", "loaf", "cheese"], awning=((30, 140, 130), (245, 236, 214))),
    dict(key="bishkek", name="Бишкек органик ярмаркасы", address="Бишкек, ул. Токтогула 125, двор Филармонии",
         lat=42.8746, lon=74.6122, timezone="Asia/Bishkek", currency="KGS", commission_bp=300,
         description="Органическая ярмарка фермеров Таласа, Иссык-Куля и Чуйской долины.",
         rule="FREQ=WEEKLY;BYDAY=SA", opens=time(9, 0), closes=time(15, 0), organizer="organizer_kg",
         stall=["apricot", "apple", "basket", "beans", "flatbread"], awning=((200, 40, 46), (250, 210, 60))),
]

# (name, kind, district, organic district (a group, made a member of below), country, currency, markets,
#  story, products)
# products: (name, category, unit, price major, by weight, stock mode, description)
PRODUCERS = [
    ("Gulnara Sadykova", ProducerKind.FARMER, "Шортандинский район", "", "KZ", "KZT", ["stepnogorsk", "astana"],
     "Выращиваю овощи без химии на семейном участке с 2012 года.", [
        ("Картофель молодой", "vegetables", Unit.KG, 450, True, StockMode.PER_MARKET_DAY, "Сорт «Невский», копаем накануне рынка."),
        ("Морковь", "vegetables", Unit.KG, 380, True, StockMode.PER_MARKET_DAY, "Сладкая морковь с песчаной грядки."),
        ("Укроп", "herbs", Unit.BUNCH, 200, False, StockMode.PER_MARKET_DAY, "Свежий пучок."),
        ("Огурцы грунтовые", "vegetables", Unit.KG, 650, True, StockMode.PER_MARKET_DAY, "Хрустящие, для салата и засолки."),
        ("Томаты розовые", "vegetables", Unit.KG, 900, True, StockMode.PER_MARKET_DAY, "Мясистые розовые томаты."),
    ]),
    ("Ерлан Жумабеков", ProducerKind.FARMER, "Целиноградский район", "", "KZ", "KZT", ["astana"],
     "Молочная ферма: 20 коров на вольном выпасе.", [
        ("Молоко коровье", "dairy", Unit.L, 600, False, StockMode.PER_MARKET_DAY, "Цельное, утреннего надоя."),
        ("Творог домашний", "dairy", Unit.KG, 2800, True, StockMode.PER_MARKET_DAY, "Жирность около 9%."),
        ("Сметана", "dairy", Unit.JAR, 1500, False, StockMode.PER_MARKET_DAY, "Банка 0,5 л."),
        ("Курт", "dairy", Unit.KG, 6000, True, StockMode.INVENTORY, "Солёные шарики курта, продаются на вес."),
        ("Сливочное масло", "dairy", Unit.KG, 6500, True, StockMode.PER_MARKET_DAY, "Сбито вручную."),
    ]),
    ("Asel Bekova Honey", ProducerKind.PROCESSOR, "Аршалынский район", "", "KZ", "KZT", ["stepnogorsk", "astana"],
     "Our bees work the steppe flowers of Arshaly; we sell only our own honey.", [
        ("Мёд степной разнотравье", "honey", Unit.JAR, 4500, False, StockMode.INVENTORY, "Банка 1 кг."),
        ("Мёд донниковый", "honey", Unit.JAR, 5000, False, StockMode.INVENTORY, "Светлый мёд, банка 1 кг."),
        ("Перга", "honey", Unit.JAR, 3000, False, StockMode.INVENTORY, "Пчелиный хлеб, баночка 100 г."),
        ("Honey comb", "honey", Unit.PIECE, 3500, False, StockMode.INVENTORY, "A frame section of comb honey."),
        ("Прополис", "honey", Unit.PIECE, 1500, False, StockMode.INVENTORY, "Натуральный прополис, кусочек 20 г."),
    ]),
    ("Талас Органик — Бакыт Осмонов", ProducerKind.FARMER, "Таласский район", "Талас органик аймагы", "KG", "KGS", ["bishkek"],
     "Член органического аймака Таласа. Фасоль и картофель с сертификатом PGS.", [
        ("Фасоль белая таласская", "vegetables", Unit.KG, 180, True, StockMode.INVENTORY, "Знаменитая таласская фасоль, урожай этого года."),
        ("Картофель таласский", "vegetables", Unit.KG, 45, True, StockMode.PER_MARKET_DAY, "Органический картофель."),
        ("Лук репчатый", "vegetables", Unit.KG, 35, True, StockMode.PER_MARKET_DAY, "Сладкий лук."),
        ("Фасоль красная", "vegetables", Unit.KG, 200, True, StockMode.INVENTORY, "Красная фасоль."),
        ("Семена фасоли", "seeds", Unit.PIECE, 150, False, StockMode.INVENTORY, "Пакет 250 г, семенной материал местного сорта."),
    ]),
    ("Айгүл Токтосунова", ProducerKind.FARMER, "Манасский район", "Талас органик аймагы", "KG", "KGS", ["bishkek"],
     "Семейное хозяйство в Манасском районе Таласа, работаем без пестицидов с 2015 года.", [
        ("Яблоки апорт", "fruit", Unit.KG, 120, True, StockMode.PER_MARKET_DAY, "Ароматный апорт."),
        ("Абрикосы сушёные", "fruit", Unit.KG, 450, True, StockMode.INVENTORY, "Сушены на солнце без серы."),
        ("Облепиха", "fruit", Unit.KG, 300, True, StockMode.PER_MARKET_DAY, "Свежая облепиха."),
        ("Варенье из облепихи", "preserves", Unit.JAR, 350, False, StockMode.INVENTORY, "Банка 0,5 л."),
        ("Груши", "fruit", Unit.KG, 150, True, StockMode.PER_MARKET_DAY, "Летние груши."),
    ]),
    ("Нурбек Абдыкалыков — кымыз", ProducerKind.PROCESSOR, "Кара-Бууринский район", "Талас органик аймагы", "KG", "KGS", ["bishkek"],
     "Кымыз с летнего джайлоо, кобылы пасутся на высокогорных пастбищах.", [
        ("Кымыз (kymyz)", "dairy", Unit.L, 250, False, StockMode.PER_MARKET_DAY, "Свежий кымыз, бутылка 1 л."),
        ("Бозо", "dairy", Unit.L, 100, False, StockMode.PER_MARKET_DAY, "Традиционный напиток из проса."),
        ("Сары май", "dairy", Unit.JAR, 600, False, StockMode.INVENTORY, "Топлёное масло, банка 0,5 кг."),
        ("Курут", "dairy", Unit.KG, 900, True, StockMode.INVENTORY, "Сушёный курут."),
        ("Айран", "dairy", Unit.L, 90, False, StockMode.PER_MARKET_DAY, "Домашний айран."),
    ]),
    ("Шырдак — Гүлмира Асанова", ProducerKind.CRAFTSMAN, "Кочкорский район", "", "KG", "KGS", ["bishkek"],
     "Валяю шырдаки и ала-кийизы по технике бабушки; только натуральная шерсть.", [
        ("Шырдак 1×1,5 м", "textiles", Unit.PIECE, 22000, False, StockMode.INVENTORY, "Ручная работа, натуральная шерсть (shyrdak)."),
        ("Ала-кийиз", "textiles", Unit.PIECE, 9000, False, StockMode.INVENTORY, "Войлочный ковёр."),
        ("Войлочные тапочки", "textiles", Unit.PIECE, 1200, False, StockMode.INVENTORY, "Тёплые тапочки из войлока."),
        ("Felt slippers for kids", "textiles", Unit.PIECE, 800, False, StockMode.INVENTORY, "Small sizes."),
        ("Войлочная сумка", "textiles", Unit.PIECE, 2500, False, StockMode.INVENTORY, "Сумка с орнаментом."),
    ]),
    ("Керамика Мадины", ProducerKind.CRAFTSMAN, "Степногорск", "", "KZ", "KZT", ["stepnogorsk", "astana"],
     "Гончарная мастерская: посуда, кесе и пиалы из местной глины.", [
        ("Кесе расписное", "ceramics", Unit.PIECE, 3500, False, StockMode.INVENTORY, "Пиала ручной росписи."),
        ("Кувшин глиняный", "ceramics", Unit.PIECE, 9000, False, StockMode.INVENTORY, "Кувшин 1,5 л."),
        ("Тарелка обеденная", "ceramics", Unit.PIECE, 5000, False, StockMode.INVENTORY, "Глазурованная тарелка."),
        ("Ceramic teapot", "ceramics", Unit.PIECE, 12000, False, StockMode.INVENTORY, "Teapot with ornament."),
        ("Горшок для цветов", "ceramics", Unit.PIECE, 2500, False, StockMode.INVENTORY, "Горшок с поддоном."),
    ]),
    ("Нан үйі — Сауле", ProducerKind.PROCESSOR, "Степногорск", "", "KZ", "KZT", ["stepnogorsk"],
     "Пеку хлеб на закваске в дровяной печи.", [
        ("Хлеб на закваске", "bread", Unit.PIECE, 1200, False, StockMode.PER_MARKET_DAY, "Ржано-пшеничный."),
        ("Баурсаки", "bread", Unit.DOZEN, 1200, False, StockMode.PER_MARKET_DAY, "Дюжина свежих баурсаков."),
        ("Таба нан", "bread", Unit.PIECE, 700, False, StockMode.PER_MARKET_DAY, "Хлеб из казана."),
        ("Лепёшка тандырная", "bread", Unit.PIECE, 400, False, StockMode.PER_MARKET_DAY, "Из тандыра."),
        ("Печенье овсяное", "bread", Unit.PIECE, 1500, False, StockMode.PER_MARKET_DAY, "Пакет 400 г, около 12 штук."),
    ]),
    ("Berik Meat Farm", ProducerKind.FARMER, "Ерейментауский район", "", "KZ", "KZT", ["astana"],
     "Grass-fed lamb and beef from the Ereymentau hills.", [
        ("Баранина (lamb)", "meat", Unit.KG, 4800, True, StockMode.PER_MARKET_DAY, "Lamb, cut to order."),
        ("Говядина", "meat", Unit.KG, 4700, True, StockMode.PER_MARKET_DAY, "Мякоть говядины."),
        ("Казы", "meat", Unit.KG, 9000, True, StockMode.PER_MARKET_DAY, "Конская колбаса казы."),
        ("Яйца куриные", "meat", Unit.DOZEN, 1100, False, StockMode.PER_MARKET_DAY, "Деревенские яйца."),
        ("Курица домашняя", "meat", Unit.KG, 2600, True, StockMode.PER_MARKET_DAY, "Тушка."),
    ]),
    ("Seedlings by Marat", ProducerKind.FARMER, "Астана", "", "KZ", "KZT", ["astana", "stepnogorsk"],
     "Seedlings of tomatoes, peppers and herbs adapted to the northern steppe.", [
        ("Рассада томатов", "seeds", Unit.PIECE, 300, False, StockMode.INVENTORY, "Сорта для открытого грунта."),
        ("Рассада перца", "seeds", Unit.PIECE, 350, False, StockMode.INVENTORY, "Сладкий перец."),
        ("Рассада клубники", "seeds", Unit.PIECE, 500, False, StockMode.INVENTORY, "Ремонтантная клубника."),
        ("Базилик в горшке", "herbs", Unit.PIECE, 800, False, StockMode.INVENTORY, "Живой базилик."),
        ("Мята", "herbs", Unit.BUNCH, 250, False, StockMode.PER_MARKET_DAY, "Свежая мята."),
    ]),
    ("Иссык-Куль чай — Жыпар", ProducerKind.PROCESSOR, "Тонский район", "", "KG", "KGS", ["bishkek"],
     "Собираем травы на склонах Иссык-Куля и сушим в тени.", [
        ("Чай горный травяной", "herbs", Unit.PIECE, 200, False, StockMode.INVENTORY, "Пачка 100 г: чабрец, душица, мята."),
        ("Облепиховый чай", "herbs", Unit.PIECE, 250, False, StockMode.INVENTORY, "Пачка 100 г."),
        ("Шиповник сушёный", "herbs", Unit.KG, 450, True, StockMode.INVENTORY, "Для отвара."),
        ("Мёд горный", "honey", Unit.JAR, 700, False, StockMode.INVENTORY, "Эспарцетовый мёд, 1 кг."),
        ("Варенье из абрикоса", "preserves", Unit.JAR, 300, False, StockMode.INVENTORY, "Банка 0,5 л."),
    ]),
    ("Woodwork by Timur", ProducerKind.CRAFTSMAN, "Бурабай", "", "KZ", "KZT", ["astana"],
     "Spoons, boards and toys carved from birch of Burabay.", [
        ("Ложка деревянная", "wood", Unit.PIECE, 1500, False, StockMode.INVENTORY, "Берёза, пропитка маслом."),
        ("Разделочная доска", "wood", Unit.PIECE, 9000, False, StockMode.INVENTORY, "Торцевая доска."),
        ("Wooden toy horse", "wood", Unit.PIECE, 3000, False, StockMode.INVENTORY, "Toy horse for kids."),
        ("Шкатулка", "wood", Unit.PIECE, 6000, False, StockMode.INVENTORY, "Резная шкатулка."),
        ("Домбра сувенирная", "wood", Unit.PIECE, 8000, False, StockMode.INVENTORY, "Сувенирная домбра."),
    ]),
]

#: What each demo product's picture shows (marketplace/demo_pictures.py draws it).
PRODUCT_LOOKS = {
    "Картофель молодой": Look("potato", "pile"), "Морковь": Look("carrot", "pile"), "Укроп": Look("herb", "pile"),
    "Огурцы грунтовые": Look("cucumber", "pile"), "Томаты розовые": Look("tomato", "pile"),
    "Молоко коровье": Look("milk", companion="cow"), "Творог домашний": Look("bowl", companion="cow"),
    "Сметана": Look("jar", companion="cow"), "Курт": Look("cheese", "pile"), "Сливочное масло": Look("butter"),
    "Мёд степной разнотравье": Look("honey-pot", companion="flower"),
    "Мёд донниковый": Look("honey-jar", companion="bee"), "Перга": Look("pollen-cell", "comb"),
    "Honey comb": Look("comb-cell", "comb"), "Прополис": Look("brown-jar", companion="bee"),
    "Фасоль белая таласская": Look("white-beans", "pile"), "Картофель таласский": Look("potato", "pile"),
    "Лук репчатый": Look("onion", "pile"), "Фасоль красная": Look("beans", "pile"),
    "Семена фасоли": Look("beans", companion="seedling"),
    "Яблоки апорт": Look("apple", "pile"), "Абрикосы сушёные": Look("apricot", "pile"),
    "Облепиха": Look("sea-buckthorn", "pile"), "Варенье из облепихи": Look("orange-jar", companion="sea-buckthorn"),
    "Груши": Look("pear", "pile"),
    "Кымыз (kymyz)": Look("milk", companion="horse"), "Бозо": Look("grain-drink", companion="wheat"),
    "Сары май": Look("honey-jar", companion="butter"), "Курут": Look("cheese", "pile"), "Айран": Look("milk", "pair"),
    "Шырдак 1×1,5 м": Look("yarn", companion="ram"), "Ала-кийиз": Look("sheep", companion="yarn"),
    "Войлочные тапочки": Look("felt-slippers", "pair"), "Felt slippers for kids": Look("slippers", "pair", companion="teddy-bear"),
    "Войлочная сумка": Look("handbag", companion="yarn"),
    "Кесе расписное": Look("bowl-cup"), "Кувшин глиняный": Look("jug"), "Тарелка обеденная": Look("plate"),
    "Ceramic teapot": Look("teapot"), "Горшок для цветов": Look("potted-plant"),
    "Хлеб на закваске": Look("loaf"), "Баурсаки": Look("fried-dough", "pile"), "Таба нан": Look("bread"),
    "Лепёшка тандырная": Look("flatbread"), "Печенье овсяное": Look("cookie", "pile"),
    "Баранина (lamb)": Look("meat-on-bone", companion="sheep"), "Говядина": Look("cut-of-meat", companion="cow"),
    "Казы": Look("cut-of-meat", companion="horse"), "Яйца куриные": Look("nest-with-eggs", companion="chicken"),
    "Курица домашняя": Look("poultry-leg", companion="chicken"),
    "Рассада томатов": Look("potted-plant", companion="tomato"),
    "Рассада перца": Look("potted-plant", companion="bell-pepper"),
    "Рассада клубники": Look("potted-plant", companion="strawberry"),
    "Базилик в горшке": Look("potted-plant", companion="herb"), "Мята": Look("herb", "pile"),
    "Чай горный травяной": Look("hot-drink", companion="herb"),
    "Облепиховый чай": Look("hot-drink", companion="sea-buckthorn"),
    "Шиповник сушёный": Look("rosehip", "pile", companion="rose"), "Мёд горный": Look("honey-pot", companion="mountain"),
    "Варенье из абрикоса": Look("orange-jar", companion="apricot"),
    "Ложка деревянная": Look("wooden-spoon", "pair"), "Разделочная доска": Look("log", companion="knife"),
    "Wooden toy horse": Look("toy-horse"), "Шкатулка": Look("chest"), "Домбра сувенирная": Look("lute"),
}

#: The person in a producer's picture, where the demo knows them ("woman", "man"; else a person).
PRODUCER_PEOPLE = {
    "Gulnara Sadykova": "woman", "Ерлан Жумабеков": "man", "Талас Органик — Бакыт Осмонов": "man",
    "Айгүл Токтосунова": "woman", "Нурбек Абдыкалыков — кымыз": "man", "Шырдак — Гүлмира Асанова": "woman",
    "Керамика Мадины": "woman", "Нан үйі — Сауле": "woman", "Berik Meat Farm": "man", "Seedlings by Marat": "man",
    "Иссык-Куль чай — Жыпар": "woman", "Woodwork by Timur": "man",
}


def product_look(name: str) -> Look:
    """The picture of a demo product; a market basket for a name PRODUCT_LOOKS does not know."""
    return PRODUCT_LOOKS.get(name, FALLBACK)


def database_is_empty() -> bool:
    return db.session.scalar(select(func.count(User.id))) == 0


def seed_demo(weeks: int = 4, today: date | None = None) -> dict:
    """Fill an empty database with the demo; returns the accounts made."""
    now = utcnow() if today is None else datetime.combine(today, time(6, 0), tzinfo=timezone.utc)
    today = today or now.date()
    users = {key: _user(email, name, roles, DEMO_PHONES.get(key)) for key, (email, name, roles) in DEMO_ACCOUNTS.items()}
    categories = {slug: Category(slug=slug, name=name, position=i) for i, (slug, name) in enumerate(CATEGORIES)}
    db.session.add_all(categories.values())
    markets = {spec["key"]: _market(spec, users, weeks, today) for spec in MARKETS}
    db.session.flush()
    # Days held before today and a day today: made before the producers, who bring something to every day.
    add_days(markets, now)
    producers = {}
    for index, spec in enumerate(PRODUCERS):
        owner = users["producer"] if index == 0 else _user(
            f"producer{index + 1}@aimak.test", _owner_name(spec[0]), [Role.PRODUCER])
        producers[spec[0]] = _producer(spec, owner, categories, markets, users)
    db.session.flush()
    _groups(users, producers, markets, today)
    add_activity(users, markets, producers, now)
    return {key: user.email for key, user in users.items()}


def _user(email: str, name: str, roles: list[Role], phone: str | None = None) -> User:
    user = User(email=email, name=name, password_hash=hash_password(DEMO_PASSWORD), email_verified_at=utcnow(),
                locale=None, phone=phone)
    user.add_role(Role.CUSTOMER)
    for role in roles:
        user.add_role(role)
    db.session.add(user)
    return user


def _market(spec: dict, users: dict, weeks: int, today: date) -> Market:
    market = Market(name=spec["name"], slug=slugify(spec["key"]), description=spec["description"],
                    address=spec["address"], lat=spec["lat"], lon=spec["lon"], timezone=spec["timezone"],
                    currency=spec["currency"], commission_bp=spec["commission_bp"],
                    photo=save_image(market_picture(spec["stall"], spec["awning"]), None, alt=spec["name"]))
    db.session.add(market)
    db.session.flush()
    db.session.add(MarketOrganizer(market_id=market.id, user_id=users[spec["organizer"]].id))
    schedule = MarketSchedule(market=market, rrule=spec["rule"], opens_local=spec["opens"],
                              closes_local=spec["closes"], weeks_ahead=weeks)
    db.session.add(schedule)
    db.session.flush()
    for day in occurrences(spec["rule"], today + timedelta(days=1), today + timedelta(weeks=weeks)):
        create_market_day(market, day, spec["opens"], spec["closes"], schedule_id=schedule.id,
                          slot_minutes=30, slot_capacity=20)
    return market


def _producer(spec, owner: User, categories: dict, markets: dict, users: dict) -> Producer:
    name, kind, district, organic_district, country, currency, market_keys, story, products = spec
    look = producer_look(kind.value, PRODUCER_PEOPLE.get(name), product_look(products[0][0]), products[0][1])
    producer = Producer(user=owner, kind=kind, name=name, slug=slugify(name), story=story, district=district,
                        country=country, currency=currency,
                        photo=save_image(demo_picture(look, products[0][1]), owner.id, alt=name))
    db.session.add(producer)
    db.session.flush()
    for key in market_keys:
        market = markets[key]
        db.session.add(Vendor(market=market, producer=producer, status=VendorStatus.APPROVED,
                              stall=f"{len(name) % 20 + 1}", decided_at=utcnow()))
    for position, (pname, category, unit, price_major, by_weight, mode, description) in enumerate(products):
        product = Product(producer=producer, category=categories[category], name=pname, description=description,
                          unit=unit, price_minor=price_major * 100, currency=currency, sold_by_weight=by_weight,
                          stock_mode=mode,
                          inventory_milli=40 * 1000 if mode == StockMode.INVENTORY else 0)
        db.session.add(product)
        db.session.flush()
        picture = demo_picture(product_look(pname), category)
        product.photos.append(ProductPhoto(image=save_image(picture, owner.id, alt=pname), position=0))
        refresh_search_text(product)
        if mode == StockMode.PER_MARKET_DAY:
            for key in market_keys:
                for day in markets[key].days:
                    db.session.add(Offer(product=product, market_day=day, quantity_milli=(20 + position * 5) * 1000))
    if kind == ProducerKind.CRAFTSMAN:
        db.session.add(Certification(producer=producer, scheme=CertificationScheme.HANDMADE,
                                     issuer="Союз ремесленников", number=f"DEMO-{producer.id:04d}",
                                     scope="", valid_from=date(2025, 1, 1), valid_until=date(2027, 12, 31),
                                     status=CertificationStatus.VERIFIED, decided_by_id=users["admin"].id,
                                     decided_at=utcnow()))
    return producer


# --- Groups: the Talas organic district and a Kazakh agroecology school -----------------

TALAS = "Талас органик аймагы"
TALAS_STORY = (
    "Органический аймак Таласской долины: семейные хозяйства Таласского, Манасского и Кара-Бууринского "
    "районов, которые работают без синтетических удобрений и пестицидов. Раз в год соседи, покупатели с "
    "бишкекской ярмарки и агроном объезжают каждое хозяйство, сверяют его со стандартом аймака и вместе "
    "решают, выдать ли сертификат PGS.\n\n"
    "Талас өрөөнүнүн органикалык аймагы: химиялык жер семирткичсиз иштеген үй-бүлөлүк чарбалар.")
TALAS_STANDARD = ("Стандарт органического аймака Талас", [
    ("Синтетические минеральные удобрения не применяются", "Спросить про покупки удобрений, осмотреть склад"),
    ("Химические пестициды и гербициды не применяются", "Осмотреть склад и опрыскиватель; поговорить с соседями"),
    ("Плодородие поддерживается компостом, навозом и севооборотом", "Посмотреть компостную кучу и план полей"),
    ("Семена местные или без протравителей", "Спросить, откуда семена фасоли и картофеля"),
    ("Поля отделены от обычных соседних полей полосой не менее 5 м", ""),
    ("Поливная вода не загрязнена стоками", "Откуда вода: арык, скважина"),
    ("Животные пасутся на пастбище, корм без антибиотиков-стимуляторов", "Если животных нет — неприменимо"),
    ("Урожай хранится отдельно от покупного товара", "Осмотреть склад, где хранится урожай для рынка"),
])
SCHOOL = "Шортанды агроэкология мектебі"
SCHOOL_STORY = (
    "Школа агроэкологии в Шортандинском районе Акмолинской области: фермеры учатся друг у друга "
    "почвозащитному земледелию, компостированию и выращиванию без химии, а выпускники проверяют хозяйства "
    "друг друга по стандарту школы.\n\n"
    "Ақмола облысындағы агроэкология мектебі: фермерлер бір-бірінен үйреніп, бір-бірінің шаруашылығын тексереді.")
SCHOOL_STANDARD = ("Стандарт школы агроэкологии Шортанды", [
    ("Без синтетических удобрений и пестицидов на участке", ""),
    ("Почва покрыта мульчей или сидератами между культурами", "Осмотреть грядки и поля"),
    ("Ведётся журнал посевов и обработок", "Попросить журнал за этот сезон"),
    ("Рассада выращена из своих или органических семян", ""),
    ("Отходы компостируются на участке", ""),
])


def _owner_name(producer_name: str) -> str:
    """The person behind a shop's name: "Шырдак — Гүлмира Асанова" is Гүлмира Асанова, but
    "Нурбек Абдыкалыков — кымыз" is Нурбек (what they sell comes after the dash)."""
    parts = [part.strip() for part in producer_name.split("—")]
    return parts[0] if parts[-1][:1].islower() else parts[-1]


def _groups(users: dict, producers: dict, markets: dict, today: date) -> None:
    """The organic district of Talas (a coordinator, members, a checklist, decided visits) and a
    Kazakh agroecology school with a member and an application; the Bishkek fair counts Talas."""
    admin, coordinator = users["admin"], users["coordinator"]
    talas = _group(TALAS, GroupKind.ORGANIC_DISTRICT, "KG", "Таласская область", TALAS_STORY, admin,
                   (42.52, 72.24, 45), market_picture(["white-beans", "potato", "basket", "apple", "sheep"],
                                                      ((46, 125, 70), (245, 230, 200))))
    db.session.add(GroupCoordinator(group=talas, user_id=coordinator.id, shown_name="Жылдыз М.", added_by_id=admin.id))
    standard = _standard(talas, TALAS_STANDARD, coordinator, today - timedelta(days=400))
    bakyt, aigul, nurbek = (producers[name] for name in (
        "Талас Органик — Бакыт Осмонов", "Айгүл Токтосунова", "Нурбек Абдыкалыков — кымыз"))
    members = {p.id: _member(talas, p, coordinator, today - timedelta(days=days))
               for p, days in ((bakyt, 700), (aigul, 500), (nurbek, 90))}
    # A completed visit of Bakyt's farm: a member, a consumer and an adviser; approved.
    visit = _visit(talas, members[bakyt.id], standard, today - timedelta(days=6), coordinator, [
        (aigul.user, ReviewerRole.MEMBER, "Айгүл Т."), (users["customer"], ReviewerRole.CONSUMER, ""),
        (users["adviser"], ReviewerRole.ADVISER, "Эркин С., агроном")],
        answers=[Answer.COMPLIES] * 6 + [Answer.NOT_APPLICABLE, Answer.COMPLIES],
        notes={2: "Компост из навоза и соломы, два бурта.", 6: "Животных в хозяйстве нет."})
    _decide(visit, members[bakyt.id], coordinator, Outcome.APPROVED, today - timedelta(days=2),
            "Все требования выполнены; компост и севооборот в порядке. Соседи подтверждают, что химия не "
            "применяется.", valid_until=today + timedelta(days=363))
    # Aigul's farm: approved with a condition and a deadline (the beehives of a neighbour).
    visit = _visit(talas, members[aigul.id], standard, today - timedelta(days=40), coordinator, [
        (bakyt.user, ReviewerRole.MEMBER, "Бакыт О."), (users["adviser"], ReviewerRole.ADVISER, "Эркин С., агроном")],
        answers=[Answer.COMPLIES] * 4 + [Answer.DOES_NOT_COMPLY] + [Answer.COMPLIES] * 3,
        notes={5: "С востока поле соседа без разделительной полосы (около 2 м)."})
    _decide(visit, members[aigul.id], coordinator, Outcome.APPROVED_WITH_CONDITIONS, today - timedelta(days=35),
            "Хозяйство соответствует стандарту, кроме разделительной полосы с соседним полем.",
            valid_until=today + timedelta(days=330), conditions="Посадить живую изгородь или оставить полосу 5 м "
            "вдоль восточной границы.", conditions_due=today + timedelta(days=60))
    # Nurbek joined three months ago: his first visit is due, and comes back as a reminder.
    members[nurbek.id].next_visit_due = today + timedelta(days=10)
    db.session.add(MarketRecognition(market_id=markets["bishkek"].id, group_id=talas.id,
                                     recognised_by_id=users["organizer_kg"].id))

    school_coordinator = users["coordinator_kz"]
    school = _group(SCHOOL, GroupKind.AGROECOLOGY_SCHOOL, "KZ", "Акмолинская область", SCHOOL_STORY, admin,
                    (51.71, 70.99, 30), demo_picture(Look("seedling", "pile", companion="farmer"), "seeds"))
    db.session.add(GroupCoordinator(group=school, user_id=school_coordinator.id, shown_name="Алия Н.",
                                    added_by_id=admin.id))
    _standard(school, SCHOOL_STANDARD, school_coordinator, today - timedelta(days=200))
    members[producers["Seedlings by Marat"].id] = _member(school, producers["Seedlings by Marat"],
                                                          school_coordinator, today - timedelta(days=150))
    members[producers["Seedlings by Marat"].id].next_visit_due = today + timedelta(days=45)
    applicant = Membership(group=school, producer=producers["Gulnara Sadykova"],
                           message="Выращиваю овощи без химии с 2012 года, хочу учиться и пройти проверку школы.",
                           applied_at=utcnow() - timedelta(days=3))
    db.session.add(applicant)
    db.session.flush()
    db.session.add(MembershipEvent(membership_id=applicant.id, status=MembershipStatus.APPLIED,
                                   actor_id=applicant.producer.user_id))
    db.session.flush()
    for producer_id in members:
        recompute_trust(producer_id)


def _group(name, kind, country, region, story, admin, area, picture) -> Group:
    lat, lon, radius = area
    group = Group(name=name, slug=slugify(name), kind=kind, country=country, region=region, story=story,
                  lat=lat, lon=lon, radius_km=radius, validity_months=12, created_by_id=admin.id)
    db.session.add(group)
    db.session.flush()
    db.session.add(GroupPhoto(group_id=group.id, image=save_image(picture, admin.id, alt=name), position=0))
    return group


def _standard(group: Group, spec, author: User, day: date) -> Standard:
    title, items = spec
    standard = Standard(group_id=group.id, version=1, title=title, created_by_id=author.id,
                        created_at=utcnow() - timedelta(days=(utcnow().date() - day).days),
                        items=[StandardItem(position=n, text=text, guidance=guidance)
                               for n, (text, guidance) in enumerate(items, start=1)])
    db.session.add(standard)
    db.session.flush()
    return standard


def _member(group: Group, producer: Producer, coordinator: User, since: date) -> Membership:
    membership = Membership(group=group, producer=producer, status=MembershipStatus.ACTIVE,
                            member_since=datetime.combine(since, time(9, 0), tzinfo=timezone.utc),
                            decided_by_id=coordinator.id, decided_at=utcnow(), next_visit_due=since)
    db.session.add(membership)
    db.session.flush()
    db.session.add_all([MembershipEvent(membership_id=membership.id, status=MembershipStatus.APPLIED,
                                        actor_id=producer.user_id),
                        MembershipEvent(membership_id=membership.id, status=MembershipStatus.ACTIVE,
                                        actor_id=coordinator.id)])
    return membership


def _visit(group, membership, standard, day, coordinator, reviewers, answers, notes) -> Visit:
    signed = utcnow() - timedelta(days=max((utcnow().date() - day).days - 1, 0))
    visit = Visit(group_id=group.id, membership_id=membership.id, producer_id=membership.producer_id,
                  standard_id=standard.id, scheduled_for=day, status=VisitStatus.SIGNED, created_by_id=coordinator.id,
                  signed_at=signed,
                  reviewers=[VisitReviewer(user_id=user.id, role=role, shown_name=shown, signed_off_at=signed)
                             for user, role, shown in reviewers])
    db.session.add(visit)
    db.session.flush()
    for item, answer in zip(standard.items, answers):
        db.session.add(VisitAnswer(visit_id=visit.id, item_id=item.id, answer=answer,
                                   note=notes.get(item.position, ""), updated_by_id=reviewers[0][0].id))
    return visit


def _decide(visit, membership, coordinator, outcome, day, reasons, *, valid_until, conditions="",
            conditions_due=None) -> Decision:
    """The group's decision, and the PGS certificate it issues (through trust, as a real decision does)."""
    decided_at = utcnow() - timedelta(days=(utcnow().date() - day).days)
    decision = Decision(visit_id=visit.id, group_id=visit.group_id, producer_id=visit.producer_id, outcome=outcome,
                        reasons=reasons, conditions=conditions, conditions_due=conditions_due,
                        valid_until=valid_until, decided_by_id=coordinator.id, decided_at=decided_at)
    visit.status = VisitStatus.DECIDED
    db.session.add(decision)
    db.session.flush()
    membership.next_visit_due = conditions_due or valid_until - timedelta(days=30)
    apply_group_decision(decision)
    return decision
