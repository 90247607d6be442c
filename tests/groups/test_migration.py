"""Migration 0009: typed organic districts become groups; a verified district membership becomes an
active member, a typed name an application; downgrading gives the typed names back."""
from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from marketplace.core.extensions import db

BEFORE, AFTER = "0008_documents_checked", "0009_groups"


def _insert(conn, table_name: str, **values) -> int:
    """A row with the given values; other required columns get a plain value of their type."""
    table = sa.Table(table_name, sa.MetaData(), autoload_with=conn)
    row = dict(values)
    for column in table.columns:
        if column.name in row or column.nullable or column.primary_key or column.server_default is not None:
            continue
        kind = column.type.python_type if hasattr(column.type, "python_type") else str
        row[column.name] = {bool: False, int: 0, float: 0.0, datetime: datetime.now(timezone.utc).replace(tzinfo=None)
                            if conn.dialect.name == "sqlite" else datetime.now(timezone.utc),
                            date: date.today()}.get(kind, os.urandom(8).hex()[:getattr(column.type, "length", None) or 16])
    return conn.execute(table.insert().values(**row).returning(table.c.id)).scalar_one()


def test_typed_districts_become_groups_and_memberships_and_back(fresh_app):
    today = date.today()
    with fresh_app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            admin = _insert(conn, "user", email="admin@example.test", name="Admin")
            producers = {}
            for n, (name, district) in enumerate([("Verified", "Талас органик аймагы"), ("Typed", "Талас органик аймагы"),
                                                  ("Other", "Naryn aimak"), ("Plain", ""), ("Paper only", "")]):
                user = _insert(conn, "user", email=f"p{n}@example.test", name=name)
                producers[name] = _insert(conn, "producer", user_id=user, name=name, slug=f"p-{n}", kind="farmer",
                                          organic_district=district, country="KG", currency="KGS")
            for producer, issuer, status, until in [
                    (producers["Verified"], "Талас органик аймагы", "verified", today + timedelta(days=100)),
                    (producers["Paper only"], "Issyk-Kul aimak", "verified", today + timedelta(days=100)),
                    (producers["Typed"], "Талас органик аймагы", "pending", today + timedelta(days=100)),
                    (producers["Plain"], "Old aimak", "verified", today - timedelta(days=1))]:
                _insert(conn, "certification", producer_id=producer, scheme="organic_district", issuer=issuer,
                        status=status, valid_from=today - timedelta(days=200), valid_until=until,
                        decided_by_id=admin)
        upgrade(revision=AFTER)
        with db.engine.connect() as conn:
            groups = dict(conn.execute(sa.text("SELECT name, slug FROM pgs_group")).all())
            assert groups == {"Талас органик аймагы": "talas-organik-aymagy", "Naryn aimak": "naryn-aimak",
                              "Issyk-Kul aimak": "issyk-kul-aimak"}
            rows = conn.execute(sa.text(
                "SELECT p.name, g.name, m.status, m.member_since FROM group_membership m "
                "JOIN producer p ON p.id = m.producer_id JOIN pgs_group g ON g.id = m.group_id")).all()
            found = {(producer, group): (status, since is not None) for producer, group, status, since in rows}
            assert found == {("Verified", "Талас органик аймагы"): ("active", True),
                             ("Typed", "Талас органик аймагы"): ("applied", False),
                             ("Other", "Naryn aimak"): ("applied", False),
                             ("Paper only", "Issyk-Kul aimak"): ("active", True)}
            events = conn.execute(sa.text("SELECT count(*) FROM membership_event")).scalar_one()
            assert events == 4 + 2  # an application each, and the two acceptances
            columns = {c["name"] for c in sa.inspect(conn).get_columns("producer")}
            assert "organic_district" not in columns
            assert conn.execute(sa.text("SELECT count(*) FROM certification")).scalar_one() == 4
        downgrade(revision=BEFORE)
        with db.engine.connect() as conn:
            back = dict(conn.execute(sa.text("SELECT name, organic_district FROM producer")).all())
            assert back == {"Verified": "Талас органик аймагы", "Typed": "Талас органик аймагы",
                            "Other": "Naryn aimak", "Plain": "", "Paper only": "Issyk-Kul aimak"}
