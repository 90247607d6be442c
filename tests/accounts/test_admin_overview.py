"""The admin's overview, role names in every language, and role changes confirmed and recorded."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.accounts.models import Role, RoleChange, User
from marketplace.core.extensions import db
from tests.conftest import PASSWORD
from tests.factories import ProducerFactory, UserFactory


@pytest.fixture
def admin(client, ctx):
    UserFactory(email="admin@example.test", name="Aigerim Admin", roles=[Role.ADMIN])
    client.post("/login", data={"email": "admin@example.test", "password": PASSWORD})
    return client


def test_overview_shows_the_weeks_and_what_waits(admin):
    ProducerFactory(name="New Farm")
    db.session.commit()
    page = admin.get("/admin/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Admin overview" in text and "orders this week" in text and "certificates waiting" in text
    assert text.count('<th scope="row">') == 8  # eight weeks, one row each
    assert 'href="/admin/"' in text  # in the admin's menu


def test_overview_is_the_admins_only(client, ctx):
    UserFactory(email="org@example.test", roles=[Role.ORGANIZER])
    client.post("/login", data={"email": "org@example.test", "password": PASSWORD})
    assert client.get("/admin/").status_code == 404


def test_a_role_change_is_confirmed_first_then_recorded_with_who_and_when(admin):
    target_id = UserFactory(email="t@example.test", name="Tolkyn").id
    one_tap = admin.post(f"/admin/users/{target_id}", data={"role": "organizer", "action": "grant"})
    assert one_tap.status_code == 302 and "/roles/organizer/grant" in one_tap.headers["Location"]
    db.session.expire_all()
    assert not db.session.get(User, target_id).has_role(Role.ORGANIZER)  # nothing changed yet
    confirm = admin.get(one_tap.headers["Location"]).get_data(as_text=True)
    assert "Grant organizer to Tolkyn?" in confirm and 'name="confirmed" value="yes"' in confirm
    admin.post(f"/admin/users/{target_id}", data={"role": "organizer", "action": "grant", "confirmed": "yes"})
    db.session.expire_all()
    assert db.session.get(User, target_id).has_role(Role.ORGANIZER)
    change = db.session.scalar(select(RoleChange).where(RoleChange.user_id == target_id))
    assert change.granted and change.role == Role.ORGANIZER and change.changed_by.name == "Aigerim Admin"
    page = admin.get(f"/admin/users/{target_id}").get_data(as_text=True)
    assert "organizer granted by Aigerim Admin" in page


def test_role_names_in_the_users_list_are_translated(admin):
    UserFactory(email="p@example.test", roles=[Role.PRODUCER])
    for lang, word in (("ru", "производитель"), ("kk", "өндіруші"), ("ky", "өндүрүүчү")):
        page = admin.get("/admin/users", headers={"Accept-Language": lang}).get_data(as_text=True)
        assert word in page and ">producer<" not in page, lang


def test_user_search_finds_cyrillic_names(admin):
    UserFactory(email="a@example.test", name="Айгерим Сейткали")
    page = admin.get("/admin/users?q=айгерим").get_data(as_text=True)
    assert "Айгерим Сейткали" in page
