from sqlalchemy import select

from marketplace.accounts.models import Role, User
from marketplace.core.extensions import db
from tests.conftest import PASSWORD
from tests.factories import UserFactory


def test_admin_grants_and_revokes_a_role(client, ctx):
    UserFactory(email="admin@example.test", roles=[Role.ADMIN])
    target = UserFactory(email="o@example.test")
    target_id = target.id
    client.post("/login", data={"email": "admin@example.test", "password": PASSWORD})
    assert "o@example.test" in client.get("/admin/users?q=o@").get_data(as_text=True)
    client.post(f"/admin/users/{target_id}", data={"role": "organizer", "action": "grant", "confirmed": "yes"})
    db.session.expire_all()
    assert db.session.get(User, target_id).has_role(Role.ORGANIZER)
    client.post(f"/admin/users/{target_id}", data={"role": "organizer", "action": "revoke", "confirmed": "yes"})
    db.session.expire_all()
    assert not db.session.get(User, target_id).has_role(Role.ORGANIZER)


def test_admin_pages_are_hidden_from_others(client, ctx):
    UserFactory(email="c@example.test")
    victim = UserFactory(email="v@example.test")
    victim_id = victim.id
    client.post("/login", data={"email": "c@example.test", "password": PASSWORD})
    assert client.get("/admin/users").status_code == 404
    assert client.post(f"/admin/users/{victim_id}", data={"role": "admin", "action": "grant"}).status_code == 404
    db.session.expire_all()
    assert not db.session.get(User, victim_id).has_role(Role.ADMIN)


def test_bad_role_value_is_a_400(client, ctx):
    UserFactory(email="admin@example.test", roles=[Role.ADMIN])
    target_id = UserFactory().id
    client.post("/login", data={"email": "admin@example.test", "password": PASSWORD})
    assert client.post(f"/admin/users/{target_id}", data={"role": "emperor", "action": "grant"}).status_code == 400


def test_create_user_command(app, ctx):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "--email", "Org@Example.test", "--name", "Org",
                                 "--role", "organizer", "--password", "long enough pass"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "org@example.test"))
    assert user.roles == {Role.CUSTOMER, Role.ORGANIZER}
    weak = runner.invoke(args=["create-user", "--email", "w@example.test", "--password", "123456789"])
    assert weak.exit_code != 0 and "too common" in weak.output


def test_seed_demo_fills_an_empty_database_once(app, ctx):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "organizer@aimak.test" in result.output
    from marketplace.markets.models import Market, MarketDay, PickupSlot
    from marketplace.producers.models import Producer, Product

    def count(model):
        return db.session.scalar(select(db.func.count()).select_from(model))

    assert count(Market) >= 3 and count(Producer) >= 12 and count(Product) >= 60
    assert count(MarketDay) >= 3 * 4 and count(PickupSlot) > count(MarketDay)
    products = count(Product)
    again = runner.invoke(args=["seed-demo"])
    assert "already has data" in again.output and count(Product) == products


def test_role_names_are_shown_in_the_admins_language(client, ctx):
    UserFactory(email="admin@example.test", roles=[Role.ADMIN])
    target_id = UserFactory().id
    client.post("/login", data={"email": "admin@example.test", "password": PASSWORD})
    page = client.get(f"/admin/users/{target_id}", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert "организатор" in page and ">organizer<" not in page


def test_the_russian_user_list_heads_peoples_names_imya(client, login, ctx):
    """The ru user list headed the people's column "Название" (a thing's name), the product form's
    word (tryout of issue 21)."""
    UserFactory(email="admin-ru@example.test", roles=[Role.ADMIN])
    db.session.commit()
    login("admin-ru@example.test")
    client.set_cookie("locale", "ru")
    head = client.get("/admin/users").get_data(as_text=True)
    head = head[head.index("<thead>"):head.index("</thead>")]
    assert ">Имя</th>" in head and "Название" not in head
