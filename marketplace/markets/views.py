"""The organizer's side of markets: settings, organizers, schedules, days, slots, vendors."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from marketplace.accounts.decorators import organizer_required
from marketplace.accounts.forms import EmptyForm
from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.markets import calendars, forms, queries, services
from marketplace.markets.calendars import month_arg
from marketplace.markets.models import (
    Market,
    MarketDay,
    MarketDayStatus,
    MarketSchedule,
    Vendor,
    VendorStatus,
)
from marketplace.web.args import page_arg, parse_int
from marketplace.web.transaction import transaction

bp = Blueprint("markets", __name__, url_prefix="/organize")


def _managed(market: Market) -> Market:
    if not services.can_manage(current_user, market):
        abort(404)
    return market


def _market_or_404(market_id: int) -> Market:
    return _managed(db.get_or_404(Market, market_id))


def _day_or_404(day_id: int) -> MarketDay:
    market_day = queries.market_day_with_market(day_id)
    if market_day is None:
        abort(404)
    _managed(market_day.market)
    return market_day


def _report_schedule(result: services.ScheduleResult) -> None:
    flash(_("Schedule saved: %(created)s days added, %(updated)s changed, %(removed)s removed.",
            created=len(result.created), updated=len(result.updated), removed=len(result.removed)), "success")
    if result.kept_with_orders:
        flash(_("These days already have orders and were kept as they were: %(dates)s.",
                dates=", ".join(d.isoformat() for d in result.kept_with_orders)), "info")


# --- Markets ----------------------------------------------------------------------

@bp.route("/")
@organizer_required
def organizer_home():
    return render_template("markets/organizer_home.html", markets=services.markets_of(current_user))


@bp.route("/markets/new", methods=["GET", "POST"])
@organizer_required
def new_market():
    form = forms.MarketForm()
    if form.validate_on_submit():
        with transaction(form) as tx:
            market = services.create_market(current_user, form.market_data(), photo=form.photo_stream())
        if tx.ok:
            flash(_("Market created. Now give it a schedule."), "success")
            return redirect(url_for("markets.market", market_id=market.id))
    return render_template("markets/market_form.html", form=form, market=None)


@bp.route("/markets/<int:market_id>")
@organizer_required
def market(market_id: int):
    market = _market_or_404(market_id)
    page = queries.upcoming_days(market.id, page=page_arg())
    return render_template("markets/market.html", market=market, page=page,
                           schedules=queries.schedules(market.id), vendor_counts=queries.vendor_counts(market.id),
                           describe_rule=services.choice_from_rule, weekdays=dict(forms.WEEKDAYS),
                           positions=dict(forms.POSITIONS), VendorStatus=VendorStatus,
                           public_url=url_for("catalog.market", slug=market.slug))


@bp.route("/markets/<int:market_id>/calendar")
@organizer_required
def calendar(market_id: int):
    """The market's days, month by month (three months from `?month=YYYY-MM`, this month by default)."""
    market = _market_or_404(market_id)
    today = services.local_today(market)
    first = month_arg(request.args.get("month")) or today.replace(day=1)
    months = calendars.months(first, 3)
    days = queries.days_between(market.id, months[0].weeks[0][0], months[-1].weeks[-1][-1])
    return render_template("markets/calendar.html", market=market, months=months, today=today,
                           days_by_date=calendars.by_date(days), previous=calendars.shift(first, -3),
                           following=calendars.shift(first, 3))


@bp.route("/markets/<int:market_id>/edit", methods=["GET", "POST"])
@organizer_required
def edit_market(market_id: int):
    market = _market_or_404(market_id)
    form = forms.MarketForm(obj=market)
    if request.method == "GET":
        form.commission.data = services.bp_to_percent(market.commission_bp)
    if form.validate_on_submit():
        with transaction(form) as tx:
            services.update_market(current_user, market, form.market_data(), photo=form.photo_stream())
        if tx.ok:
            flash(_("Market saved."), "success")
            return redirect(url_for("markets.market", market_id=market.id))
    return render_template("markets/market_form.html", form=form, market=market)


# --- Organizers -------------------------------------------------------------------

@bp.route("/markets/<int:market_id>/organizers", methods=["GET", "POST"])
@organizer_required
def organizers(market_id: int):
    market = _market_or_404(market_id)
    form = forms.OrganizerForm()
    if form.validate_on_submit():
        with transaction(form) as tx:
            user = services.add_organizer(current_user, market, form.email.data)
        if tx.ok:
            flash(_("%(name)s now organises this market.", name=user.name), "success")
            return redirect(url_for("markets.organizers", market_id=market.id))
    return render_template("markets/organizers.html", market=market, form=form, remove_form=EmptyForm())


@bp.route("/markets/<int:market_id>/organizers/<int:user_id>/remove", methods=["POST"])
@organizer_required
def remove_organizer(market_id: int, user_id: int):
    market = _market_or_404(market_id)
    user = db.get_or_404(User, user_id)
    if EmptyForm().validate_on_submit():
        with transaction() as tx:
            services.remove_organizer(current_user, market, user)
        if tx.ok:
            flash(_("%(name)s no longer organises this market.", name=user.name), "success")
    if user.id == current_user.id and not services.can_manage(current_user, market):
        return redirect(url_for("markets.organizer_home"))
    return redirect(url_for("markets.organizers", market_id=market.id))


# --- Schedules and days --------------------------------------------------------------

@bp.route("/markets/<int:market_id>/schedules/new", methods=["GET", "POST"])
@organizer_required
def new_schedule(market_id: int):
    market = _market_or_404(market_id)
    form = forms.ScheduleForm()
    if form.validate_on_submit():
        with transaction(form) as tx:
            result = services.create_schedule(
                current_user, market, form.rule(), form.opens_local.data, form.closes_local.data,
                weeks_ahead=form.weeks_ahead.data, slot_minutes=form.slot_minutes.data,
                slot_capacity=form.slot_capacity.data)
        if tx.ok:
            _report_schedule(result)
            return redirect(url_for("markets.market", market_id=market.id))
    return render_template("markets/schedule_form.html", form=form, market=market, schedule=None)


def _schedule_or_404(schedule_id: int) -> MarketSchedule:
    schedule = db.get_or_404(MarketSchedule, schedule_id)
    _managed(schedule.market)
    return schedule


@bp.route("/schedules/<int:schedule_id>/edit", methods=["GET", "POST"])
@organizer_required
def edit_schedule(schedule_id: int):
    schedule = _schedule_or_404(schedule_id)
    form = forms.ScheduleForm(obj=schedule)
    if request.method == "GET":
        choice = services.choice_from_rule(schedule.rrule)
        form.kind.data, form.weekday.data = choice["kind"], choice["weekday"]
        form.position.data, form.raw.data = str(choice["position"]), choice["raw"]
    if form.validate_on_submit():
        with transaction(form) as tx:
            result = services.update_schedule(
                current_user, schedule, form.rule(), form.opens_local.data, form.closes_local.data,
                weeks_ahead=form.weeks_ahead.data, slot_minutes=form.slot_minutes.data,
                slot_capacity=form.slot_capacity.data)
        if tx.ok:
            _report_schedule(result)
            return redirect(url_for("markets.market", market_id=schedule.market_id))
    return render_template("markets/schedule_form.html", form=form, market=schedule.market, schedule=schedule)


@bp.route("/schedules/<int:schedule_id>/extend", methods=["POST"])
@organizer_required
def extend_schedule(schedule_id: int):
    schedule = _schedule_or_404(schedule_id)
    if EmptyForm().validate_on_submit():
        with transaction() as tx:
            result = services.extend_schedule(current_user, schedule)
        if tx.ok:
            _report_schedule(result)
    return redirect(url_for("markets.market", market_id=schedule.market_id))


@bp.route("/markets/<int:market_id>/days/new", methods=["GET", "POST"])
@organizer_required
def new_day(market_id: int):
    market = _market_or_404(market_id)
    form = forms.OneOffDayForm()
    if form.validate_on_submit():
        with transaction(form) as tx:
            market_day = services.create_one_off_day(
                current_user, market, form.date.data, form.opens_local.data, form.closes_local.data,
                title=form.title.data or "", slot_minutes=form.slot_minutes.data,
                slot_capacity=form.slot_capacity.data)
        if tx.ok:
            flash(_("Market day added."), "success")
            return redirect(url_for("markets.day", day_id=market_day.id))
    return render_template("markets/day_new.html", form=form, market=market)


def _day_forms(market_day: MarketDay, form=None):
    tz = ZoneInfo(market_day.market.timezone)
    if form is None:
        form = forms.MarketDayForm(formdata=None)
        form.title.data = market_day.title
        form.opens_local.data = market_day.opens_at.astimezone(tz).time()
        form.closes_local.data = market_day.closes_at.astimezone(tz).time()
        form.ordering_opens_local.data = market_day.ordering_opens_at.astimezone(tz).replace(tzinfo=None)
        form.cutoff_local.data = market_day.cutoff_at.astimezone(tz).replace(tzinfo=None)
    slots = market_day.slots
    # The template starts from the day's hours, so moved hours are one click away from new slots.
    slot_form = forms.SlotTemplateForm(formdata=None)
    slot_form.start_local.data = market_day.opens_at.astimezone(tz).time()
    slot_form.end_local.data = market_day.closes_at.astimezone(tz).time()
    return dict(form=form, slot_form=slot_form, cancel_form=forms.CancelDayForm(formdata=None),
                slots=slots, market=market_day.market, market_day=market_day,
                ordering_state=services.ordering_state(market_day), csrf_form=EmptyForm())


@bp.route("/days/<int:day_id>", methods=["GET", "POST"])
@organizer_required
def day(day_id: int):
    market_day = _day_or_404(day_id)
    if request.method == "POST":
        form = forms.MarketDayForm()
        if form.validate_on_submit():
            with transaction(form) as tx:
                services.update_market_day(current_user, market_day, opens_local=form.opens_local.data,
                                           closes_local=form.closes_local.data,
                                           ordering_opens_local=form.ordering_opens_local.data,
                                           cutoff_local=form.cutoff_local.data, title=form.title.data or "")
            if tx.ok:
                flash(_("Market day saved."), "success")
                if any(slot.starts_at < market_day.opens_at or slot.ends_at > market_day.closes_at
                       for slot in market_day.slots):
                    flash(_("Some pickup slots are outside the new hours; generate the slots again below."), "info")
                return redirect(url_for("markets.day", day_id=market_day.id))
        return render_template("markets/day.html", **_day_forms(market_day, form)), 400
    return render_template("markets/day.html", **_day_forms(market_day))


@bp.route("/days/<int:day_id>/cancel", methods=["GET", "POST"])
@organizer_required
def cancel_day(day_id: int):
    """Cancelling a day has its own page: the reason, what happens, one red button."""
    market_day = _day_or_404(day_id)
    if market_day.status != MarketDayStatus.SCHEDULED:
        return redirect(url_for("markets.day", day_id=day_id))
    form = forms.CancelDayForm()
    if form.validate_on_submit():
        with transaction(form) as tx:
            services.cancel_market_day(current_user, market_day, form.reason.data)
        if tx.ok:
            services.finish_cancellation(current_user, market_day)  # the card money, after the commit
            flash(_("The market day is cancelled; producers and customers are being told. Card holds are "
                    "released and card payments refunded: the report below shows where that stands."), "success")
            return redirect(url_for("markets.day", day_id=day_id))
    return render_template("markets/cancel_day.html", market_day=market_day, market=market_day.market, form=form)


@bp.route("/days/<int:day_id>/cancel/again", methods=["POST"])
@organizer_required
def cancel_day_again(day_id: int):
    """Run a day's cancellation again: what failed (a card Stripe did not answer for) is tried again."""
    market_day = _day_or_404(day_id)
    if market_day.status != MarketDayStatus.CANCELLED or not EmptyForm().validate_on_submit():
        return redirect(url_for("markets.day", day_id=day_id))
    with transaction() as tx:
        services.cancel_market_day(current_user, market_day, "")
    if tx.ok:
        services.finish_cancellation(current_user, market_day)
        flash(_("The cancellation was run again: whatever had failed was tried again. The report below shows "
                "where it stands."), "success")
    return redirect(url_for("markets.day", day_id=day_id))


@bp.route("/days/<int:day_id>/slots", methods=["POST"])
@organizer_required
def generate_slots(day_id: int):
    market_day = _day_or_404(day_id)
    form = forms.SlotTemplateForm()
    if form.validate_on_submit():
        with transaction() as tx:
            created = services.generate_slots(current_user, market_day, form.start_local.data, form.end_local.data,
                                              form.slot_minutes.data, form.capacity.data)
        if tx.ok:
            flash(_("%(n)s pickup slots created.", n=len(created)), "success")
    else:
        flash(_("Check the slot times, length and capacity."), "error")
    return redirect(url_for("markets.day", day_id=day_id))


@bp.route("/days/<int:day_id>/slots/save", methods=["POST"])
@organizer_required
def save_slots(day_id: int):
    """Every slot's capacity, and the slots to remove, in one form with one Save."""
    market_day = _day_or_404(day_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    capacities = {slot.id: parse_int(request.form.get(f"capacity-{slot.id}"), 0, services.MAX_SLOT_CAPACITY)
                  for slot in market_day.slots if f"capacity-{slot.id}" in request.form}
    remove = {slot.id for slot in market_day.slots if request.form.get(f"remove-{slot.id}")}
    with transaction(flash_errors=False) as tx:
        changed = services.save_slots(current_user, market_day, capacities, remove)
    if tx.ok:
        flash(ngettext("%(num)s pickup slot changed.", "%(num)s pickup slots changed.", changed) if changed
              else _("Nothing changed."), "success")
        return redirect(url_for("markets.day", day_id=day_id))
    if not isinstance(tx.error, services.SlotErrors):
        raise tx.error
    flash(tx.error.message, "error")
    market_day = _day_or_404(day_id)
    return render_template("markets/day.html", **_day_forms(market_day), slot_errors=tx.error.errors,
                           slot_values=request.form), 400


# --- Vendors ----------------------------------------------------------------------

@bp.route("/markets/<int:market_id>/vendors")
@organizer_required
def vendors(market_id: int):
    market = _market_or_404(market_id)
    status_arg = request.args.get("status", "")
    try:
        status = VendorStatus(status_arg) if status_arg else None
    except ValueError:
        abort(400)
    page = queries.vendors_page(market.id, status, page_arg())
    return render_template("markets/vendors.html", market=market, page=page, status=status_arg,
                           filters=forms.VENDOR_FILTERS, counts=queries.vendor_counts(market.id),
                           status_label=services.vendor_status_label, transitions=services.VENDOR_TRANSITIONS,
                           VendorStatus=VendorStatus)


@bp.route("/vendors/<int:vendor_id>")
@organizer_required
def vendor(vendor_id: int):
    """One vendor (an application): the producer's profile, products, certificates and trust beside the decision."""
    found = queries.vendor_with_producer(vendor_id)
    if found is None:
        abort(404)
    _managed(found.market)
    return render_template("markets/vendor.html", vendor=found, market=found.market, producer=found.producer,
                           status_label=services.vendor_status_label, transitions=services.VENDOR_TRANSITIONS)


def _vendor_or_404(vendor_id: int) -> Vendor:
    vendor = db.get_or_404(Vendor, vendor_id)
    _managed(vendor.market)
    return vendor


def _back_to_vendors(vendor: Vendor):
    if request.form.get("back") == "vendor":
        return redirect(url_for("markets.vendor", vendor_id=vendor.id))
    status = request.form.get("return_status", "")
    return redirect(url_for("markets.vendors", market_id=vendor.market_id,
                            status=status if status in {s.value for s in VendorStatus} else None))


@bp.route("/vendors/<int:vendor_id>/decide", methods=["POST"])
@organizer_required
def decide_vendor(vendor_id: int):
    vendor = _vendor_or_404(vendor_id)
    form = forms.VendorDecisionForm()
    if form.validate_on_submit():
        with transaction(flash_errors=False) as tx:
            services.decide_vendor(current_user, vendor, form.action.data, reason=form.reason.data or "",
                                   stall=form.stall.data if form.stall.raw_data else None)
        if tx.error:
            flash(_("%(producer)s: %(message)s", producer=vendor.producer.name, message=tx.error.message), "error")
        else:
            flash(_("%(producer)s is now %(status)s; we emailed them.", producer=vendor.producer.name,
                    status=services.vendor_status_label(vendor.status)), "success")
    else:
        abort(400)
    return _back_to_vendors(vendor)


@bp.route("/vendors/<int:vendor_id>/stall", methods=["POST"])
@organizer_required
def vendor_stall(vendor_id: int):
    vendor = _vendor_or_404(vendor_id)
    form = forms.StallForm()
    if not form.validate_on_submit():
        abort(400)
    with transaction() as tx:
        services.set_stall(current_user, vendor, form.stall.data or "")
    if tx.ok:
        flash(_("Stall of %(producer)s saved.", producer=vendor.producer.name), "success")
    return _back_to_vendors(vendor)
