"""The organizer's side of markets."""
from flask import Blueprint, render_template
from flask_login import current_user

from marketplace.accounts.decorators import role_required
from marketplace.accounts.models import Role
from marketplace.markets import services

bp = Blueprint("markets", __name__, url_prefix="/organize")


@bp.route("/")
@role_required(Role.ORGANIZER)
def organizer_home():
    return render_template("markets/organizer_home.html", markets=services.markets_of(current_user))
