"""Groups: organic districts and PGS groups, their coordinators and members, the standard,
peer visits and decisions. Trust turns the decisions into badges and figures (it listens to
groups/signals.py); lower features' pages show a group's facts through template globals."""
from __future__ import annotations

from flask import Flask, render_template
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from marketplace.groups import cli, labels, queries, tasks, views
from marketplace.groups.forms import ChooseGroupForm
from marketplace.tasks import add_tasks
from marketplace.web.pagecache import add_catalog_tables
from marketplace.web.templating import NavEntry, add_nav_entries, add_template_globals


def register(app: Flask) -> None:
    app.register_blueprint(views.bp)
    for command in cli.commands:
        app.cli.add_command(command)
    add_tasks(app, tasks.send_group_visit_reminders)
    # The catalog's cached pages show a member's badge only while the membership, the group's
    # standing and (on a market's page) its organizers' choice allow it: a change to any of them
    # must show at once, even when no certificate or score is written with it.
    add_catalog_tables(app, "pgs_group", "group_membership", "market_group_recognition", "visit_decision")
    add_nav_entries(app, NavEntry(65, "organizer", "groups.recognition", _l("PGS groups at my markets")),
                    NavEntry(85, "admin", "groups.admin", _l("Groups")))
    add_template_globals(
        app, group_kind_label=labels.kind_label, membership_label=labels.membership_label,
        reviewer_role_label=labels.role_label, answer_label=labels.answer_label,
        outcome_label=labels.outcome_label, visit_status_label=labels.visit_label,
        # Pages of lower features show a group's facts (composition at the edge):
        # the producer's profile (producers), the organizer's vendors (markets), the catalog.
        producer_district_block=producer_district_block,
        group_verification_at_market=queries.verification_at_market,
        producer_groups=queries.shown_standing)


def producer_district_block(producer) -> Markup:
    """The profile's "organic district" part: the producer's groups, and a list to choose one from."""
    form = ChooseGroupForm()
    form.group.choices = [(g.slug, g.name) for g in queries.groups_open_to(producer.id)]
    return Markup(render_template("groups/_profile_groups.html", form=form,
                                  memberships=queries.memberships_of(producer.id)))
