"""Group pages: public pages and records, applying, the coordinator's dashboard, visits filled in
on a phone, decisions, the admin's group pages and the organizers' choice per market.

A page for someone who may not see it is a 404, whoever's id is in the URL. The visit's
checklist is saved item by item: each POST is small, so a phone on a weak connection
loses at most the item it was sending (static/js/groups.js keeps that one and sends it again).
"""
from __future__ import annotations

import secrets

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace.accounts.models import Role
from marketplace.core.db import utcnow
from marketplace.core.errors import NotAllowed, NotFound
from marketplace.core.extensions import db
from marketplace.groups import queries, services
from marketplace.groups.forms import (
    ApplyForm,
    ChooseGroupForm,
    CoordinatorForm,
    DecisionForm,
    GroupCreateForm,
    GroupPageForm,
    MembershipActionForm,
    PhotoForm,
    StandardForm,
    StandingForm,
    VisitForm,
)
from marketplace.groups.labels import membership_label
from marketplace.groups.models import (
    Group,
    GroupKind,
    GroupStatus,
    Membership,
    MembershipStatus,
    ReviewerRole,
    VisitPhoto,
    VisitStatus,
)
from marketplace.markets.models import Market
from marketplace.media.views import image_url
from marketplace.producers.access import producer_required
from marketplace.producers.models import Producer
from marketplace.web.access import role_required
from marketplace.web.args import id_arg
from marketplace.web.errors import render_error
from marketplace.web.transaction import transaction

bp = Blueprint("groups", __name__, url_prefix="/groups")


@bp.errorhandler(NotFound)
@bp.errorhandler(NotAllowed)
def _not_found(_error):
    # Someone else's group, membership or visit: it does not exist for this user.
    db.session.rollback()
    return render_error(404)


def _group(slug: str) -> Group:
    group = queries.group_by_slug(slug[:140])
    if group is None:
        abort(404)
    return group


def _coordinated(slug: str) -> Group:
    group = _group(slug)
    if not services.is_coordinator(current_user, group):
        abort(404)
    return group


def _membership(membership_id: int) -> Membership:
    """A membership of a group the signed-in user coordinates."""
    membership = db.get_or_404(Membership, membership_id)
    if not services.is_coordinator(current_user, membership.group):
        abort(404)
    return membership


def _visit(visit_id: int):
    """A visit the signed-in user reviews, coordinates or whose farm it is; else 404."""
    visit = queries.visit_with_people(visit_id)
    if visit is None:
        abort(404)
    reviewer = services.reviewer_of(visit, current_user)
    coordinator = services.is_coordinator(current_user, visit.group)
    own_farm = visit.producer.user_id == current_user.id
    if reviewer is None and not coordinator and not own_farm:
        abort(404)
    return visit, reviewer, coordinator


def _hidden_refusal(tx) -> None:
    """Someone else's object reached a service (an id from another group or visit): 404, as on load."""
    if isinstance(tx.error, (NotAllowed, NotFound)):
        abort(404)


def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "application/json"


# --- Public ------------------------------------------------------------------------------


@bp.route("/")
def index():
    mine = None
    if current_user.is_authenticated:
        mine = {"coordinated": queries.coordinated_groups(current_user.id),
                "visits": queries.visits_to_review(current_user.id)}
    return render_template("groups/index.html", groups=queries.all_groups(), mine=mine)


@bp.route("/<slug>")
def group(slug: str):
    item = _group(slug)
    today = utcnow().date()
    return render_template("groups/group.html", group=item, members=queries.active_members(item, today),
                           standard=queries.standard_version(item), in_standing=item.in_standing(today),
                           coordinator=services.is_coordinator(current_user, item))


@bp.route("/<slug>/standard")
@bp.route("/<slug>/standard/v<int:version>")
def standard(slug: str, version: int | None = None):
    item = _group(slug)
    shown = queries.standard_version(item, version)
    if shown is None:
        abort(404)
    return render_template("groups/standard.html", group=item, standard=shown,
                           versions=queries.standard_versions(item))


@bp.route("/<slug>/record/<producer_slug>")
def record(slug: str, producer_slug: str):
    item = _group(slug)
    producer = db.first_or_404(select(Producer).where(Producer.slug == producer_slug[:140]))
    found = queries.record_of(item, producer)
    # An application or a refusal is not published; a member's record stays, even after it ended.
    if found is None or (found["membership"].status in (MembershipStatus.APPLIED, MembershipStatus.REFUSED)
                         and not found["entries"]):
        abort(404)
    return render_template("groups/record.html", group=item, producer=producer, **found)


# --- Producers ---------------------------------------------------------------------------


@bp.route("/<slug>/apply", methods=["GET", "POST"])
@producer_required
def apply(producer, slug: str):
    item = _group(slug)
    form = ApplyForm()
    if form.validate_on_submit():
        with transaction(form) as tx:
            services.apply_to_group(producer, current_user, item, form.message.data)
        if tx.ok:
            flash(_("Your application is sent. The coordinators will answer; you will get an email."), "success")
            return redirect(url_for("groups.mine"))
    return render_template("groups/apply.html", group=item, form=form)


@bp.route("/choose", methods=["POST"])
@producer_required
def choose(producer):
    """The profile's "organic district" select: choosing a group applies to it."""
    form = ChooseGroupForm()
    form.group.choices = [(g.slug, g.name) for g in queries.groups_open_to(producer.id)]
    if not form.validate_on_submit():
        flash(_("Choose a group from the list."), "error")
        return redirect(url_for("producers.profile"))
    return redirect(url_for("groups.apply", slug=form.group.data))


@bp.route("/mine")
@login_required
def mine():
    producer = db.session.scalar(select(Producer).where(Producer.user_id == current_user.id))
    return render_template(
        "groups/mine.html", producer=producer,
        memberships=queries.memberships_of(producer.id) if producer else [],
        coordinated=queries.coordinated_groups(current_user.id),
        visits=queries.visits_to_review(current_user.id))


@bp.route("/memberships/<int:membership_id>/leave", methods=["POST"])
@producer_required
def leave(producer, membership_id: int):
    membership = db.get_or_404(Membership, membership_id)
    if membership.producer_id != producer.id:
        abort(404)
    with transaction() as tx:
        services.leave_group(producer, current_user, membership)
    _hidden_refusal(tx)
    if tx.ok:
        flash(_("You are no longer in %(group)s.", group=membership.group.name), "success")
    return redirect(url_for("groups.mine"))


# --- Coordinators --------------------------------------------------------------------------


@bp.route("/<slug>/manage")
@login_required
def manage(slug: str):
    item = _coordinated(slug)
    return render_template("groups/manage.html", group=item, form=MembershipActionForm(),
                           standard=queries.standard_version(item), today=utcnow().date(),
                           **queries.dashboard(item))


MEMBERSHIP_ACTIONS = {
    "accept": (services.accept_member, False),
    "refuse": (services.refuse_member, True),
    "suspend": (services.suspend_member, True),
    "reinstate": (services.reinstate_member, False),
    "remove": (services.remove_member, True),
}


@bp.route("/memberships/<int:membership_id>", methods=["POST"])
@login_required
def decide_membership(membership_id: int):
    membership = _membership(membership_id)
    form = MembershipActionForm()
    action = MEMBERSHIP_ACTIONS.get(request.form.get("action", ""))
    if action is None or not form.validate_on_submit():
        abort(400)
    service, needs_reason = action
    with transaction() as tx:
        if needs_reason:
            service(current_user, membership, form.reason.data)
        else:
            service(current_user, membership)
    if tx.ok:
        flash(_("%(producer)s: %(status)s.", producer=membership.producer.name,
                status=membership_label(membership.status)), "success")
    return redirect(url_for("groups.manage", slug=membership.group.slug) + f"#membership-{membership.id}")


@bp.route("/memberships/<int:membership_id>/history")
@login_required
def membership_history(membership_id: int):
    membership = _membership(membership_id)
    return render_template("groups/membership_history.html", membership=membership,
                           events=queries.membership_history(membership.id))


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str):
    item = _coordinated(slug)
    form = GroupPageForm(obj=item if request.method == "GET" else None)
    if request.method == "GET":
        form.lat.data = "" if item.lat is None else f"{item.lat:.2f}"
        form.lon.data = "" if item.lon is None else f"{item.lon:.2f}"
    if form.validate_on_submit():
        lat, lon = form.coordinates()
        if not (form.lat.errors or form.lon.errors):
            with transaction(form) as tx:
                services.update_group_page(current_user, item, region=form.region.data, story=form.story.data,
                                           lat=lat, lon=lon, radius_km=form.radius_km.data,
                                           validity_months=form.validity_months.data)
            if tx.ok:
                flash(_("The group's page is saved."), "success")
                return redirect(url_for("groups.group", slug=item.slug))
    return render_template("groups/edit.html", group=item, form=form, photo_form=PhotoForm(),
                           max_photos=services.MAX_GROUP_PHOTOS)


@bp.route("/<slug>/photos", methods=["POST"])
@login_required
def add_photo(slug: str):
    item = _coordinated(slug)
    form = PhotoForm()
    if form.validate_on_submit():
        with transaction() as tx:
            services.add_group_photo(current_user, item, form.photo.data.stream)
        if tx.ok:
            flash(_("The photo is added."), "success")
    else:
        for error in form.photo.errors:
            flash(error, "error")
    return redirect(url_for("groups.edit", slug=item.slug) + "#photos")


@bp.route("/<slug>/photos/<int:photo_id>/delete", methods=["POST"])
@login_required
def remove_photo(slug: str, photo_id: int):
    item = _coordinated(slug)
    with transaction() as tx:
        services.remove_group_photo(current_user, item, photo_id)
    _hidden_refusal(tx)
    if tx.ok:
        flash(_("The photo is removed."), "success")
    return redirect(url_for("groups.edit", slug=item.slug) + "#photos")


@bp.route("/<slug>/standard/edit", methods=["GET", "POST"])
@login_required
def edit_standard(slug: str):
    item = _coordinated(slug)
    current = queries.standard_version(item)
    form = StandardForm()
    if request.method == "GET" and current is not None:
        form.title.data = current.title
        form.items.data = "\n".join(f"{i.text} | {i.guidance}" if i.guidance else i.text for i in current.items)
    if form.validate_on_submit():
        with transaction(form) as tx:
            saved = services.save_standard(current_user, item, form.title.data, services.parse_items(form.items.data))
        if tx.ok:
            flash(_("Version %(n)s of the standard is saved.", n=saved.version), "success")
            return redirect(url_for("groups.standard", slug=item.slug))
    return render_template("groups/standard_form.html", group=item, form=form, current=current)


@bp.route("/memberships/<int:membership_id>/visits/new", methods=["GET", "POST"])
@login_required
def new_visit(membership_id: int):
    membership = _membership(membership_id)
    candidates = queries.candidate_reviewers(membership.group, membership.producer.user_id)
    form = VisitForm()
    if request.method == "GET":
        form.scheduled_for.data = utcnow().date()
    if form.validate_on_submit():
        with transaction(form) as tx:
            visit = services.schedule_visit(current_user, membership, form.scheduled_for.data,
                                            _reviewer_choices(form))
        if tx.ok:
            flash(_("The visit is scheduled; the reviewers and the producer are emailed."), "success")
            return redirect(url_for("groups.visit", visit_id=visit.id))
    return render_template("groups/visit_new.html", membership=membership, group=membership.group, form=form,
                           candidates=candidates, chosen=set(request.form.getlist("member")))


def _reviewer_choices(form: VisitForm) -> list[services.ReviewerChoice]:
    choices = []
    for raw in request.form.getlist("member")[:services.MAX_REVIEWERS + 1]:
        user_id = id_arg(raw)
        if user_id is None:
            continue
        choices.append(services.ReviewerChoice(ReviewerRole.MEMBER, user_id=user_id,
                                               shown_name=request.form.get(f"shown-{user_id}", "")[:80]))
    if form.consumer_email.data:
        choices.append(services.ReviewerChoice(ReviewerRole.CONSUMER, email=form.consumer_email.data,
                                               shown_name=form.consumer_shown_name.data or ""))
    if form.adviser_email.data:
        choices.append(services.ReviewerChoice(ReviewerRole.ADVISER, email=form.adviser_email.data,
                                               shown_name=form.adviser_shown_name.data or ""))
    return choices


@bp.route("/visits/<int:visit_id>/cancel", methods=["POST"])
@login_required
def cancel_visit(visit_id: int):
    visit, _reviewer, coordinator = _visit(visit_id)
    if not coordinator:
        abort(404)
    with transaction() as tx:
        services.cancel_visit(current_user, visit)
    if tx.ok:
        flash(_("The visit is cancelled."), "success")
    return redirect(url_for("groups.manage", slug=visit.group.slug))


# --- The visit: filled in on a phone, signed, decided ---------------------------------------


@bp.route("/visits/<int:visit_id>")
@login_required
def visit(visit_id: int):
    item, reviewer, coordinator = _visit(visit_id)
    decision_form = DecisionForm()
    if item.status == VisitStatus.SIGNED and coordinator and not decision_form.valid_until.data:
        decision_form.valid_until.data = services.default_valid_until(item.group, utcnow().date())
    return _render_visit(item, reviewer, coordinator, decision_form)


def _render_visit(item, reviewer, coordinator, decision_form, status: int = 200):
    sheet = queries.visit_sheet(item)
    filling = (reviewer is not None and item.status == VisitStatus.SCHEDULED
               and item.producer.user_id != current_user.id)
    return render_template("groups/visit.html", visit=item, sheet=sheet, reviewer=reviewer,
                           coordinator=coordinator, filling=filling, decision_form=decision_form,
                           upload_key=secrets.token_hex(12), note_max=services.NOTE_MAX,
                           own_farm=item.producer.user_id == current_user.id), status


def _answer_of(item_id: int) -> tuple[str | None, str]:
    return (request.form.get(f"answer-{item_id}") or None), request.form.get(f"note-{item_id}", "")


@bp.route("/visits/<int:visit_id>/answers", methods=["POST"])
@login_required
def save_answers(visit_id: int):
    """Without JavaScript: every item the form carries an answer or a note for is saved."""
    item, _reviewer, _coordinator = _visit(visit_id)
    cleared = False
    with transaction() as tx:
        for standard_item in queries.visit_sheet(item).items:
            answer, note = _answer_of(standard_item.id)
            if answer or note.strip():
                cleared = services.save_answer(current_user, item, standard_item.id, answer, note).signatures_cleared \
                    or cleared
    _hidden_refusal(tx)
    if tx.ok:
        flash(_("Answers saved."), "success")
        if cleared:
            flash(_("An answer changed after a reviewer signed: every reviewer signs again."), "warning")
    following = id_arg(request.form.get("next"))
    return redirect(url_for("groups.visit", visit_id=item.id) + (f"#item-{following}" if following else ""))


@bp.route("/visits/<int:visit_id>/items/<int:item_id>", methods=["POST"])
@login_required
def save_item(visit_id: int, item_id: int):
    """One item, as soon as it is answered (static/js/groups.js); a plain redirect without JS."""
    item, _reviewer, _coordinator = _visit(visit_id)
    answer, note = _answer_of(item_id)
    with transaction(flash_errors=not _wants_json()) as tx:
        saved = services.save_answer(current_user, item, item_id, answer, note)
    _hidden_refusal(tx)
    if _wants_json():
        if tx.error:
            return jsonify(ok=False, error=tx.error.message), 409
        return jsonify(ok=True, item=item_id, signatures_cleared=saved.signatures_cleared,
                       answer=saved.answer.answer.value if saved.answer.answer else "", note=saved.answer.note)
    return redirect(url_for("groups.visit", visit_id=item.id) + f"#item-{item_id}")


@bp.route("/visits/<int:visit_id>/items/<int:item_id>/photos", methods=["POST"])
@login_required
def add_visit_photo(visit_id: int, item_id: int):
    item, _reviewer, _coordinator = _visit(visit_id)
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        if _wants_json():
            return jsonify(ok=False, error=_("Choose a photo.")), 400
        flash(_("Choose a photo."), "error")
        return redirect(url_for("groups.visit", visit_id=item.id) + f"#item-{item_id}")
    with transaction(flash_errors=not _wants_json()) as tx:
        photo = services.add_visit_photo(current_user, item, item_id, upload.stream,
                                         request.form.get("upload_key", ""))
    _hidden_refusal(tx)
    if _wants_json():
        if tx.error:
            return jsonify(ok=False, error=tx.error.message), 409
        return jsonify(ok=True, id=photo.id, url=image_url(photo.image, 400),
                       delete_url=url_for("groups.remove_visit_photo", visit_id=item.id, photo_id=photo.id))
    return redirect(url_for("groups.visit", visit_id=item.id) + f"#item-{item_id}")


@bp.route("/visits/<int:visit_id>/photos/<int:photo_id>/delete", methods=["POST"])
@login_required
def remove_visit_photo(visit_id: int, photo_id: int):
    item, _reviewer, _coordinator = _visit(visit_id)
    photo_item = db.session.scalar(select(VisitPhoto.item_id).where(VisitPhoto.id == photo_id,
                                                                    VisitPhoto.visit_id == item.id))
    with transaction() as tx:
        services.remove_visit_photo(current_user, item, photo_id)
    _hidden_refusal(tx)
    if tx.ok:
        flash(_("The photo is removed."), "success")
    return redirect(url_for("groups.visit", visit_id=item.id) + (f"#item-{photo_item}" if photo_item else ""))


@bp.route("/visits/<int:visit_id>/sign", methods=["POST"])
@login_required
def sign(visit_id: int):
    item, _reviewer, _coordinator = _visit(visit_id)
    with transaction() as tx:
        services.sign_off(current_user, item)
    _hidden_refusal(tx)
    if tx.ok:
        flash(_("You signed the visit."), "success")
    return redirect(url_for("groups.visit", visit_id=item.id))


@bp.route("/visits/<int:visit_id>/decision", methods=["POST"])
@login_required
def decide(visit_id: int):
    item, reviewer, coordinator = _visit(visit_id)
    if not coordinator:
        abort(404)
    form = DecisionForm()
    if form.validate_on_submit():
        with transaction(form) as tx:
            services.decide(current_user, item, form.outcome.data, form.reasons.data,
                            conditions=form.conditions.data, conditions_due=form.conditions_due.data,
                            valid_until=form.valid_until.data)
        if tx.ok:
            flash(_("The decision is recorded and published; the producer is emailed."), "success")
            return redirect(url_for("groups.record", slug=item.group.slug, producer_slug=item.producer.slug))
    return _render_visit(item, reviewer, coordinator, form, 400)


# --- Admins --------------------------------------------------------------------------------


@bp.route("/admin", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def admin():
    form = GroupCreateForm()
    if form.validate_on_submit():
        with transaction(form) as tx:
            created = services.create_group(current_user, name=form.name.data, kind=GroupKind(form.kind.data),
                                            country=form.country.data, region=form.region.data,
                                            standing_until=form.standing_until.data,
                                            validity_months=form.validity_months.data)
        if tx.ok:
            flash(_("The group is created. Add its coordinators."), "success")
            return redirect(url_for("groups.admin_group", slug=created.slug))
    return render_template("groups/admin.html", form=form, groups=queries.all_groups())


@bp.route("/admin/<slug>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def admin_group(slug: str):
    item = _group(slug)
    standing = StandingForm(prefix="standing", obj=item if request.method == "GET" else None)
    if request.method == "GET":
        standing.status.data = item.status.value
    coordinator = CoordinatorForm(prefix="coordinator")
    if request.form.get("form") == "standing" and standing.validate_on_submit():
        with transaction(standing) as tx:
            services.set_standing(current_user, item, status=GroupStatus(standing.status.data),
                                  standing_until=standing.standing_until.data)
        if tx.ok:
            flash(_("The group's standing is saved."), "success")
            return redirect(url_for("groups.admin_group", slug=item.slug))
    if request.form.get("form") == "coordinator" and coordinator.validate_on_submit():
        with transaction(coordinator) as tx:
            services.add_coordinator(current_user, item, coordinator.email.data, coordinator.shown_name.data)
        if tx.ok:
            flash(_("The coordinator is added."), "success")
            return redirect(url_for("groups.admin_group", slug=item.slug))
    return render_template("groups/admin_group.html", group=item, standing=standing, coordinator=coordinator)


@bp.route("/admin/<slug>/coordinators/<int:user_id>/remove", methods=["POST"])
@role_required(Role.ADMIN)
def remove_coordinator(slug: str, user_id: int):
    item = _group(slug)
    with transaction() as tx:
        services.remove_coordinator(current_user, item, user_id)
    if tx.ok:
        flash(_("The coordinator is removed."), "success")
    return redirect(url_for("groups.admin_group", slug=item.slug))


# --- Organizers: which groups count at my markets -------------------------------------------


@bp.route("/markets")
@role_required(Role.ORGANIZER, Role.ADMIN)
def recognition():
    markets = queries.organised_markets(current_user)
    return render_template("groups/recognition.html", markets=markets, groups=queries.all_groups(),
                           recognised=queries.recognitions(m.id for m in markets))


@bp.route("/markets/<int:market_id>/groups/<int:group_id>", methods=["POST"])
@role_required(Role.ORGANIZER, Role.ADMIN)
def recognise(market_id: int, group_id: int):
    market = db.get_or_404(Market, market_id)
    item = db.get_or_404(Group, group_id)
    with transaction() as tx:
        services.set_recognition(current_user, market, item, request.form.get("recognised") == "1")
    _hidden_refusal(tx)
    if tx.ok:
        flash(_("Saved for %(market)s.", market=market.name), "success")
    return redirect(url_for("groups.recognition") + f"#market-{market.id}")
