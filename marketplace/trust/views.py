"""Trust pages: certificates and their verification, reviews, moderation; old district links."""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace.accounts.decorators import organizer_required
from marketplace.accounts.models import Role, User, normalize_email
from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.media.views import document_response
from marketplace.orders.models import Order
from marketplace.orders.reliability import NO_SHOW_WINDOW_DAYS, cash_refusal_reason
from marketplace.producers.access import producer_required
from marketplace.producers.models import Producer
from marketplace.trust import preview, queries, services
from marketplace.trust.forms import (
    CertificateForm,
    CustomerLookupForm,
    DecisionForm,
    EditCertificateForm,
    ModerationForm,
    ReplyForm,
    ReportForm,
    ReviewForm,
)
from marketplace.trust.models import (
    Certification,
    CertificationStatus,
    Review,
    ReviewStatus,
)
from marketplace.web.access import role_required
from marketplace.web.args import page_arg
from marketplace.web.transaction import transaction

bp = Blueprint("trust", __name__)


@bp.app_context_processor
def _trust_helpers():
    # The producer page (catalog) includes trust/_producer_trust.html, which calls this.
    return {"producer_trust": lambda producer, limit=5: queries.producer_trust(producer, limit, current_user),
            "certificate_status": queries.certificate_status, "producer_url": _producer_url}


def _producer_url(producer) -> str:
    """The public producer page (the catalog's)."""
    return url_for("catalog.producer", slug=producer.slug)


def _own_certificate(cert_id: int) -> Certification:
    certification = db.get_or_404(Certification, cert_id)
    # A group's certificate changes only with the group's decisions: there is nothing to edit.
    if certification.producer.user_id != current_user.id or certification.group_id is not None:
        abort(404)
    return certification


# --- Producer: certificates --------------------------------------------------------


@bp.route("/trust/certificates")
@producer_required
def my_certificates(producer):
    return render_template("trust/my_certificates.html", producer=producer,
                           certificates=queries.producer_certificates(producer.id))


@bp.route("/trust/certificates/new", methods=["GET", "POST"])
@producer_required
def new_certificate(producer):
    form = CertificateForm()
    if form.validate_on_submit():
        with transaction(form) as tx:
            services.upload_certificate(
                producer, current_user, scheme=form.scheme.data, issuer=form.issuer.data,
                number=form.number.data, scope=form.scope.data, valid_from=form.valid_from.data,
                valid_until=form.valid_until.data, stream=form.document.data.stream,
                filename=form.document.data.filename or "")
        if tx.ok:
            flash(_("Certificate sent. A market organizer will check it; you will get an email."), "success")
            return redirect(url_for("trust.my_certificates"))
    return render_template("trust/certificate_form.html", form=form, certification=None)


@bp.route("/trust/certificates/<int:cert_id>/edit", methods=["GET", "POST"])
@role_required(Role.PRODUCER)
def edit_certificate(cert_id: int):
    certification = _own_certificate(cert_id)
    form = EditCertificateForm(obj=certification if request.method == "GET" else None)
    if request.method == "GET":
        form.scheme.data = certification.scheme.value
    if form.validate_on_submit():
        upload = form.document.data if getattr(form.document.data, "filename", "") else None
        with transaction(form) as tx:
            services.update_certificate(
                certification, current_user, scheme=form.scheme.data, issuer=form.issuer.data,
                number=form.number.data, scope=form.scope.data, valid_from=form.valid_from.data,
                valid_until=form.valid_until.data, stream=upload.stream if upload else None,
                filename=upload.filename if upload else "")
        if tx.ok:
            flash(_("Certificate saved. It will be checked again before its badge shows."), "success")
            return redirect(url_for("trust.my_certificates"))
    return render_template("trust/certificate_form.html", form=form, certification=certification)


@bp.route("/trust/certificates/<int:cert_id>/document")
def document(cert_id: int):
    # No login redirect: to anyone not allowed, the document does not exist.
    certification = db.get_or_404(Certification, cert_id)
    if certification.document is None or not services.can_see_document(current_user, certification):
        abort(404)
    return document_response(certification.document)


@bp.route("/trust/certificates/<int:cert_id>/preview/<int:page>.jpg")
def document_preview(cert_id: int, page: int):
    """A page of the document as a picture drawn again on the server (trust/preview.py)."""
    certification = db.get_or_404(Certification, cert_id)
    if certification.document is None or not services.can_see_document(current_user, certification):
        abort(404)
    picture = preview.page_picture(certification.document, page)
    if picture is None:
        abort(404)
    response = current_app.response_class(picture, mimetype="image/jpeg")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- Verifiers -----------------------------------------------------------------------


@bp.route("/trust/verification")
@organizer_required
def verification_queue():
    status = request.args.get("status", CertificationStatus.PENDING.value)
    if status not in (CertificationStatus.PENDING.value, CertificationStatus.VERIFIED.value,
                      CertificationStatus.REJECTED.value):
        abort(404)
    page = queries.verification_queue(current_user, status, page_arg(), current_app.config["PAGE_SIZE"])
    return render_template("trust/verification_queue.html", page=page, status=status)


@bp.route("/trust/verification/<int:cert_id>", methods=["GET", "POST"])
@organizer_required
def verification_detail(cert_id: int):
    certification = db.get_or_404(Certification, cert_id)
    if not services.can_verify(current_user, certification):
        abort(404)
    form = DecisionForm()
    if not form.is_submitted():
        form.document_sha256.data = services.document_sha256(certification)
    if form.validate_on_submit():
        seen = form.document_sha256.data or None  # the page shows it; a form without it is not checked
        with transaction() as tx:
            if form.decision.data == "verify":
                services.verify_certificate(certification, current_user, form.reason.data, seen_sha256=seen)
            else:
                services.reject_certificate(certification, current_user, form.reason.data, seen_sha256=seen)
        if tx.ok:
            flash(_("Decision recorded; the producer has been emailed."), "success")
            return redirect(url_for("trust.verification_queue"))
    return render_template("trust/verification_detail.html", certification=certification, form=form,
                           preview=preview.preview_of(certification.document),
                           certificates=queries.producer_certificates(certification.producer_id))


# --- Customers: reviews --------------------------------------------------------------


@bp.route("/trust/reviews/write")
@login_required
def reviewable():
    return render_template("trust/reviewable.html", pairs=queries.reviewable_for(current_user.id))


@bp.route("/trust/orders/<int:order_id>/producers/<int:producer_id>/review", methods=["GET", "POST"])
@login_required
def new_review(order_id: int, producer_id: int):
    order = db.get_or_404(Order, order_id)
    if order.customer_id != current_user.id:
        abort(404)
    producer = db.get_or_404(Producer, producer_id)
    refusal = services.review_refusal(order, producer.id, current_user)
    form = ReviewForm()
    if refusal is None and form.validate_on_submit():
        with transaction(flash_errors=False) as tx:
            services.create_review(order, producer.id, current_user, int(form.rating.data), form.text.data)
        if tx.error:
            refusal = tx.error.message
        else:
            flash(_("Thank you! Your review is published."), "success")
            return redirect(url_for("trust.producer_reviews", slug=producer.slug))
    return render_template("trust/review_form.html", form=form, order=order, producer=producer,
                           refusal=refusal), (409 if refusal and request.method == "POST" else 200)


@bp.route("/trust/reviews/<int:review_id>/report", methods=["GET", "POST"])
@login_required
def report_review(review_id: int):
    review = db.get_or_404(Review, review_id)
    if review.status != ReviewStatus.PUBLISHED:
        abort(404)
    form = ReportForm()
    if form.validate_on_submit():
        with transaction(flash_errors=False) as tx:
            services.report_review(review, current_user, form.reason.data)
        if tx.error:
            form.reason.errors.append(tx.error.message)
        else:
            flash(_("Thank you. An admin will look at this review."), "success")
            return redirect(url_for("trust.producer_reviews", slug=review.producer.slug))
    return render_template("trust/report_form.html", form=form, review=review)


@bp.route("/trust/producers/<slug>/reviews")
def producer_reviews(slug: str):
    producer = db.first_or_404(select(Producer).where(Producer.slug == slug))
    page = queries.producer_reviews(producer.id, page_arg(), current_app.config["PAGE_SIZE"])
    return render_template("trust/producer_reviews.html", producer=producer, page=page,
                           trust=queries.producer_trust(producer, 0, current_user))


# --- Producers: replies --------------------------------------------------------------


@bp.route("/trust/my-reviews")
@producer_required
def my_reviews(producer):
    page = queries.reviews_for_producer_owner(producer.id, page_arg(), current_app.config["PAGE_SIZE"])
    return render_template("trust/my_reviews.html", producer=producer, page=page, form=ReplyForm())


@bp.route("/trust/reviews/<int:review_id>/reply", methods=["POST"])
@role_required(Role.PRODUCER)
def reply(review_id: int):
    review = db.get_or_404(Review, review_id)
    if review.producer.user_id != current_user.id:
        abort(404)
    form = ReplyForm()
    if not form.validate_on_submit():
        for error in form.text.errors:
            flash(error, "error")
        return redirect(url_for("trust.my_reviews"))
    with transaction() as tx:
        services.reply_to_review(review, current_user, form.text.data)
    if tx.ok:
        flash(_("Your reply is published."), "success")
    return redirect(url_for("trust.my_reviews"))


# --- Admins: moderation --------------------------------------------------------------


@bp.route("/trust/moderation")
@role_required(Role.ADMIN)
def moderation():
    show = request.args.get("show", "reported")
    if show not in ("reported", "hidden"):
        abort(404)
    size = current_app.config["PAGE_SIZE"]
    page = queries.open_reports(page_arg(), size) if show == "reported" else queries.hidden_reviews(page_arg(), size)
    reports = queries.report_reasons([review.id for review in page.items])
    return render_template("trust/moderation.html", page=page, reviews=page.items, reports=reports,
                           show=show, form=ModerationForm())


@bp.route("/trust/moderation/reviews/<int:review_id>", methods=["POST"])
@role_required(Role.ADMIN)
def moderate(review_id: int):
    review = db.get_or_404(Review, review_id)
    form = ModerationForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return redirect(url_for("trust.moderation", show="hidden" if review.status == ReviewStatus.HIDDEN
                                else "reported"))
    with transaction() as tx:
        if form.action.data == "hide":
            services.hide_review(review, current_user, form.reason.data)
        elif form.action.data == "unhide":
            services.unhide_review(review, current_user, form.reason.data)
        else:
            services.dismiss_reports(review, current_user)
    if tx.ok:
        flash(_("Done."), "success")
    return redirect(url_for("trust.moderation", show="hidden" if form.action.data == "hide" else "reported"))


# --- Organizers: customer reliability ------------------------------------------------


@bp.route("/trust/customers")
@organizer_required
def customer_lookup():
    form = CustomerLookupForm(request.args)
    customer = None
    if request.args.get("email") is not None and form.validate():
        customer = db.session.scalar(select(User).where(User.email == normalize_email(form.email.data)))
        if customer is not None and queries.organizer_sees_customer(current_user, customer.id):
            return redirect(url_for("trust.customer_reliability", user_id=customer.id))
        form.email.errors.append(_("No customer with this email has ordered at your markets."))
    return render_template("trust/customer_lookup.html", form=form)


@bp.route("/trust/customers/<int:user_id>")
@organizer_required
def customer_reliability(user_id: int):
    customer = db.get_or_404(User, user_id)
    if not queries.organizer_sees_customer(current_user, customer.id):
        abort(404)
    return render_template("trust/customer_reliability.html", customer=customer,
                           no_shows=queries.customer_no_shows(customer.id),
                           limit=current_app.config["NO_SHOW_LIMIT"], window=NO_SHOW_WINDOW_DAYS,
                           cash_refused=cash_refusal_reason(customer.id) is not None)


# --- Public --------------------------------------------------------------------------


@bp.route("/districts/<key>")
def district(key: str):
    """The old district pages (built from a typed name) live on as their group's page."""
    group = queries.district_group(key[:200])
    if group is None:
        abort(404)
    return redirect(url_for("groups.group", slug=group.slug), 301)


@bp.route("/trust/how-it-works")
def how_it_works():
    return render_template("trust/how_it_works.html", prior_reviews=services.PRIOR_REVIEWS,
                           prior_rating=services.PRIOR_RATING, prior_items=services.PRIOR_ITEMS,
                           member_bonus=services.MEMBER_PRIOR_BONUS, pgs_bonus=services.PGS_PRIOR_BONUS,
                           window=services.REVIEW_WINDOW_DAYS, reminder_days=services.EXPIRY_REMINDER_DAYS,
                           no_show_limit=current_app.config["NO_SHOW_LIMIT"], today=utcnow().date())
