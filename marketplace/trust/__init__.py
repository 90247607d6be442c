"""Trust: certificates and their verification, badges, reviews after pickup, moderation, the trust score."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from marketplace.tasks import add_tasks
from marketplace.trust import cli, labels, preview, queries, services, tasks, views
from marketplace.web.templating import (
    NavEntry,
    TabEntry,
    add_nav_entries,
    add_tabs,
    add_template_globals,
)


def register(app: Flask) -> None:
    app.register_blueprint(views.bp)
    for command in cli.commands:
        app.cli.add_command(command)
    add_tasks(app, tasks.send_certificate_reminders)
    services.connect_receivers()
    add_nav_entries(app, NavEntry(40, "producer", "trust.my_certificates", _l("Certificates")),
                    NavEntry(60, "organizer", "trust.verification_queue", _l("Certificates to check")),
                    NavEntry(80, "admin", "trust.moderation", _l("Moderation")))
    add_tabs(app, "shop", TabEntry(60, "trust.my_certificates", _l("Certificates"),
                                   also=("trust.new_certificate", "trust.edit_certificate", "trust.my_reviews")))
    # The producer's dashboard (a lower feature) lists the shop's certificates.
    add_template_globals(app, scheme_label=labels.scheme_label, badges_key=queries.badges_key,
                         certificates_of_producer=queries.certificates_of_producer,
                         # The customer's order pages (orders, below) link to the reviews still to write.
                         reviewable_for=queries.reviewable_for,
                         # The organizer's vendor page (markets) previews an applicant's certificates.
                         certificate_preview=preview.certificate_preview,
                         # The admin's overview (accounts, below): certificates and reports waiting.
                         trust_waiting_counts=queries.waiting_counts)
