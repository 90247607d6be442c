"""Hostile input on the group pages through HTTP (both databases): notes and stories with markup,
NUL, right-to-left overrides, emoji and a megabyte; map areas with impossible coordinates."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.core.extensions import db
from marketplace.groups.models import Group, Standard, VisitAnswer
from tests.groups.helpers import add_member, coordinator_of, make_group, scheduled_visit

JSON = {"Accept": "application/json"}
HOSTILE = ["<script>alert(1)</script><img src=x onerror=alert(2)>", "NUL\x00inside", "\u202egnp.exe",
           "Компост 🐄🌾 ✓", "a\r\nb"]


@pytest.mark.parametrize("note", HOSTILE)
def test_a_visit_note_is_kept_as_text_and_shown_escaped(client, login, ctx, note):
    group = make_group()
    visit = scheduled_visit(group, add_member(group))
    item = db.session.get(Standard, visit.standard_id).items[0]
    login(visit.reviewers[0].user.email)
    response = client.post(f"/groups/visits/{visit.id}/items/{item.id}",
                           data={f"answer-{item.id}": "complies", f"note-{item.id}": note}, headers=JSON)
    assert response.status_code in (200, 409), response.status_code
    page = client.get(f"/groups/visits/{visit.id}").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "onerror=alert" not in page.replace("onerror=alert(2)&gt;", "")
    stored = db.session.scalar(select(VisitAnswer.note).where(VisitAnswer.visit_id == visit.id))
    assert stored is None or "\x00" not in stored


def test_a_megabyte_note_is_refused_beside_its_item(client, login, ctx):
    group = make_group()
    visit = scheduled_visit(group, add_member(group))
    item = db.session.get(Standard, visit.standard_id).items[0]
    login(visit.reviewers[0].user.email)
    response = client.post(f"/groups/visits/{visit.id}/items/{item.id}",
                           data={f"answer-{item.id}": "complies", f"note-{item.id}": "x" * 1_000_000}, headers=JSON)
    assert response.status_code in (409, 413)
    assert db.session.scalar(select(VisitAnswer.id)) is None


@pytest.mark.parametrize("story", HOSTILE)
def test_a_group_story_is_shown_escaped(client, login, ctx, story):
    group = make_group("Talas")
    login(coordinator_of(group).email)
    response = client.post("/groups/talas/edit", data={"region": "Talas", "story": story, "validity_months": "12"})
    assert response.status_code in (200, 302)
    page = client.get("/groups/talas").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    db.session.expire_all()
    assert "\x00" not in db.session.get(Group, group.id).story


@pytest.mark.parametrize("lat, lon", [("91", "10"), ("42.5", "181"), ("nan", "nan"), ("inf", "1"), ("1e308", "1"),
                                      ("٤٢", "٧٤"), ("42,5", "74,6"), ("-0", "-0"), ("4" * 30, "1")])
def test_a_map_area_with_impossible_coordinates_is_refused_without_a_500(client, login, ctx, lat, lon):
    group = make_group("Talas")
    login(coordinator_of(group).email)
    response = client.post("/groups/talas/edit", data={"region": "Talas", "story": "", "validity_months": "12",
                                                       "lat": lat, "lon": lon, "radius_km": "20"})
    assert response.status_code in (200, 302)
    db.session.expire_all()
    saved = db.session.get(Group, group.id)
    if saved.lat is not None:
        assert -90 <= saved.lat <= 90 and -180 <= saved.lon <= 180
