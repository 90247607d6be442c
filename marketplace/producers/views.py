"""The producer's side: dashboard (the shop is built out in its own feature)."""
from flask import Blueprint, abort, render_template
from flask_login import current_user

from marketplace.accounts.decorators import role_required
from marketplace.accounts.models import Role
from marketplace.producers import services

bp = Blueprint("producers", __name__, url_prefix="/shop")


def current_producer():
    producer = services.producer_for_user(current_user)
    if producer is None:
        abort(404)
    return producer


@bp.route("/")
@role_required(Role.PRODUCER)
def dashboard():
    producer = current_producer()
    return render_template("producers/dashboard.html", producer=producer)
