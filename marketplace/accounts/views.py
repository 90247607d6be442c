"""Registration, login, logout, password reset, email verification, account settings."""
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
from flask_login import current_user, login_required, login_user, logout_user

from marketplace.accounts import services
from marketplace.accounts.forms import (
    AccountForm,
    ChangePasswordForm,
    EmptyForm,
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
)
from marketplace.accounts.models import Role
from marketplace.core.extensions import limiter
from marketplace.core.locale import LOCALE_COOKIE
from marketplace.web.headers import is_safe_next_url
from marketplace.web.transaction import transaction

bp = Blueprint("accounts", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _limits_off() -> bool:
    return not current_app.config.get("RATE_LIMITS_ON", True)


def _redirect_next(default_endpoint: str = "catalog.home"):
    target = request.args.get("next") or request.form.get("next")
    if is_safe_next_url(target):
        return redirect(target)
    return redirect(url_for(default_endpoint))


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("catalog.home"))
    form = RegisterForm()
    if request.method == "GET" and request.args.get("as") == "producer":
        form.account_type.data = "producer"
    if form.validate_on_submit():
        role = Role.PRODUCER if form.account_type.data == "producer" else Role.CUSTOMER
        with transaction(form) as tx:
            user = services.register_user(form.email.data, form.password.data, form.name.data, role=role,
                                          locale=request.cookies.get(LOCALE_COOKIE), data=form.data)
        if tx.ok:
            login_user(user)
            flash(_("Welcome to Aimak! We sent you an email to confirm your address."), "success")
            return _redirect_next("producers.dashboard" if role == Role.PRODUCER else "catalog.home")
    return render_template("accounts/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], exempt_when=_limits_off)
def login():
    if current_user.is_authenticated:
        return _redirect_next()
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("Email or password is not correct."))
        else:
            login_user(user, remember=form.remember.data)
            return _redirect_next(_home_for(user))
    return render_template("accounts/login.html", form=form)


def _home_for(user) -> str:
    if user.has_role(Role.ORGANIZER):
        return "markets.organizer_home"
    if user.has_role(Role.PRODUCER):
        return "producers.dashboard"
    return "catalog.home"


@bp.route("/logout", methods=["POST"])
def logout():
    form = EmptyForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        with transaction():
            services.end_all_sessions(current_user)
        logout_user()
        flash(_("You are logged out."), "info")
    return redirect(url_for("catalog.home"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], exempt_when=_limits_off)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        with transaction():
            services.request_password_reset(form.email.data)
        flash(_("If an account exists for that email, we sent a link to reset the password."), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], exempt_when=_limits_off)
def reset_password(token: str):
    user = services.user_for_reset_token(token)
    if user is None:
        flash(_("This reset link is invalid or has expired. Ask for a new one."), "error")
        return redirect(url_for("accounts.forgot_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        with transaction(form) as tx:
            services.set_password(user, form.password.data)
        if tx.ok:
            logout_user()
            flash(_("Your password is changed. Please log in."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form)


@bp.route("/verify/<token>")
def verify_email(token: str):
    # Following the link only marks the address confirmed; it is idempotent.
    with transaction():
        user = services.verify_email(token)
    if user is None:
        flash(_("This confirmation link is invalid or has expired."), "error")
    else:
        flash(_("Thank you, your email is confirmed."), "success")
    return redirect(url_for("catalog.home"))


@bp.route("/account/verify", methods=["POST"])
@login_required
def resend_verification():
    if EmptyForm().validate_on_submit() and current_user.email_verified_at is None:
        with transaction():
            services.send_verification_email(current_user)
        flash(_("We sent you a new confirmation email."), "info")
    return redirect(url_for("accounts.account"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = AccountForm(obj=current_user)
    if request.method == "GET":
        form.locale.data = current_user.locale or ""
    if form.validate_on_submit():
        with transaction(form) as tx:
            services.update_profile(current_user, form.name.data, form.phone.data, form.locale.data)
        if tx.ok:
            flash(_("Your details are saved."), "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/account.html", form=form, password_form=ChangePasswordForm(),
                           resend_form=EmptyForm())


@bp.route("/account/password", methods=["POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        with transaction(form) as tx:
            services.change_password(current_user, form.current_password.data, form.password.data)
        if tx.ok:
            # The old cookie is dead; log in again on this device with the new token.
            login_user(current_user._get_current_object())
            flash(_("Your password is changed. Other devices are logged out."), "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/account.html", form=AccountForm(obj=current_user),
                           password_form=form, resend_form=EmptyForm()), 400


@bp.route("/language", methods=["POST"])
def set_language():
    code = request.form.get("locale", "")
    if code not in current_app.config["LANGUAGES"]:
        abort(400)
    if current_user.is_authenticated:
        with transaction():
            services.set_locale(current_user, code)
    target = request.form.get("next")
    response = redirect(target if is_safe_next_url(target) else url_for("catalog.home"))
    response.set_cookie(LOCALE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response
