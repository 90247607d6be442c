"""Registration, login, logout, password reset, email verification, account settings."""
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, logout_user

from marketplace.accounts import services
from marketplace.accounts.forms import (
    AccountForm,
    ChangePasswordForm,
    EmptyForm,
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
    VerifyEmailForm,
)
from marketplace.accounts.models import Role
from marketplace.accounts.sessions import (
    REGISTRATION_NONCE,
    device_cookie,
    new_registration_nonce,
    remember_device,
    start_session,
)
from marketplace.core.extensions import csrf, limiter
from marketplace.core.locale import LOCALE_COOKIE, select_locale
from marketplace.web.headers import is_safe_next_url, private_page, token_page
from marketplace.web.security import (
    address_key,
    address_limit,
    config_limit,
    limits_off,
)
from marketplace.web.transaction import transaction

bp = Blueprint("accounts", __name__)


def _posted_email_key() -> str:
    """Limits per email address (whoever asks): keyed by a fingerprint, never the address itself."""
    return "email:" + services.email_fingerprint(request.form.get("email", ""))


def _user_key() -> str:
    return f"user:{getattr(current_user, 'id', None) or address_key()}"


def _redirect_next(default_endpoint: str = "catalog.home"):
    target = request.args.get("next") or request.form.get("next")
    if is_safe_next_url(target):
        return redirect(target)
    return redirect(url_for(default_endpoint))


@bp.route("/register", methods=["GET", "POST"])
@address_limit("REGISTER_RATE_LIMIT", methods=["POST"])
@private_page
def register():
    if current_user.is_authenticated:
        return redirect(url_for("catalog.home"))
    form = RegisterForm()
    if request.method == "GET" and request.args.get("as") == "producer":
        form.account_type.data = "producer"
    if form.validate_on_submit():
        role = Role.PRODUCER if form.account_type.data == "producer" else Role.CUSTOMER
        nonce = new_registration_nonce()
        with transaction(form) as tx:
            services.register_user(form.email.data, form.password.data, form.name.data, role=role,
                                   locale=select_locale(), data=form.data,
                                   browser_nonce=nonce)
        if tx.ok:
            _remember_where_they_were_going(request.form.get("next"))
            # The same page whether the email was free or taken (its owner got an email instead).
            return redirect(url_for("accounts.check_email"))
    return render_template("accounts/register.html", form=form)


#: Where a visitor was going when they registered (a checkout): the confirmation link, opened in
#: the same browser, takes them there instead of the home page.
AFTER_REGISTRATION = "after_registration"


def _remember_where_they_were_going(target: str | None) -> None:
    if is_safe_next_url(target):
        session[AFTER_REGISTRATION] = target


@bp.route("/register/check-email")
def check_email():
    return render_template("accounts/check_email.html")


@bp.route("/login", methods=["GET", "POST"])
@address_limit("LOGIN_ADDRESS_LIMIT", methods=["POST"], scope="login")
@private_page
def login():
    if current_user.is_authenticated:
        return _redirect_next()
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        device_user_id, device = device_cookie()
        with transaction():  # the owner's notice of failed logins is an email in the outbox
            result = services.attempt_login(form.email.data, form.password.data, address=address_key(),
                                            device_user_id=device_user_id, device=device)
        if result.user is not None:
            start_session(result.user, remember=form.remember.data)
            response = _redirect_next(_home_for(result.user))
            remember_device(response, result.user)
            return response
        if result.wait is not None:
            status = 429
            form.password.errors.append(_wait_message(result.wait))
        else:
            form.password.errors.append(_("Email or password is not correct."))
    response = make_response(render_template("accounts/login.html", form=form), status)
    if status == 429:
        response.headers["Retry-After"] = str(result.wait.seconds)
        response.security_event_logged = True  # login_throttled says more than rate_limited
    return response


def _wait_message(wait) -> str:
    minutes = max(1, (wait.seconds + 59) // 60)
    if wait.scope == "address":
        return ngettext("Too many failed logins from your network. Please try again in %(num)s minute.",
                        "Too many failed logins from your network. Please try again in %(num)s minutes.",
                        minutes)
    if wait.seconds < 60:
        return ngettext("Too many attempts for this account. Please wait %(num)s second and try again.",
                        "Too many attempts for this account. Please wait %(num)s seconds and try again.",
                        wait.seconds)
    return ngettext("Too many attempts for this account. Please try again in %(num)s minute, "
                    "or reset your password.",
                    "Too many attempts for this account. Please try again in %(num)s minutes, "
                    "or reset your password.", minutes)


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
        session.clear()
        flash(_("You are logged out."), "info")
    return redirect(url_for("catalog.home"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@address_limit("PASSWORD_RESET_RATE_LIMIT", methods=["POST"], scope="password-reset")
@limiter.limit(config_limit("PASSWORD_RESET_EMAIL_LIMIT"), methods=["POST"], key_func=_posted_email_key,
               exempt_when=limits_off, scope="password-reset-email")
@private_page
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        with transaction():
            services.request_password_reset(form.email.data)
        flash(_("If an account exists for that email, we sent a link to reset the password."), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


def _token_page_csrf() -> None:
    """The token pages send `Referrer-Policy: no-referrer`, so their own form arrives with no
    Referer and Flask-WTF's WTF_CSRF_SSL_STRICT would refuse it over HTTPS (400). They are
    exempt from CSRFProtect's Referer check; their forms still check the session-bound CSRF
    token (FlaskForm), and a browser's Sec-Fetch-Site, where sent, must say this site."""
    if request.method == "POST" and request.headers.get("Sec-Fetch-Site", "same-origin") not in (
            "same-origin", "none"):
        abort(400)


@bp.route("/password/reset", methods=["GET", "POST"])
@csrf.exempt  # see _token_page_csrf
@address_limit("PASSWORD_RESET_RATE_LIMIT", methods=["POST"], scope="password-reset")
@token_page
def reset_password():
    # The token comes after `#` in the emailed link (never sent to a server, so never in a log);
    # the page's script puts it into the form.
    _token_page_csrf()
    form = ResetPasswordForm()
    if form.validate_on_submit():
        with transaction(form) as tx:
            user = services.reset_password(form.token.data, form.password.data)
        if tx.ok and user is None:
            flash(_("This reset link is invalid or has expired. Ask for a new one."), "error")
            return redirect(url_for("accounts.forgot_password"))
        if tx.ok:
            logout_user()
            session.clear()
            flash(_("Your password is changed. Please log in."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form)


@bp.route("/verify", methods=["GET", "POST"])
@csrf.exempt  # see _token_page_csrf
@token_page
def verify_email():
    _token_page_csrf()
    form = VerifyEmailForm()
    if not form.validate_on_submit():
        return render_template("accounts/verify_email.html", form=form)
    with transaction():
        found = services.verify_email(form.token.data, session.get(REGISTRATION_NONCE, ""))
    if found is None:
        flash(_("This confirmation link is invalid or has expired."), "error")
        return redirect(url_for("catalog.home"))
    if found.first_in_registering_browser and not current_user.is_authenticated:
        going_to = session.pop(AFTER_REGISTRATION, None)  # before start_session clears the session
        start_session(found.user)
        flash(_("Thank you, your email is confirmed. Welcome to Aimak!"), "success")
        response = redirect(going_to if is_safe_next_url(going_to) else url_for(_home_for(found.user)))
        remember_device(response, found.user)
        return response
    flash(_("Thank you, your email is confirmed."), "success")
    return redirect(url_for("catalog.home" if current_user.is_authenticated else "accounts.login"))


@bp.route("/account/verify", methods=["POST"])
@login_required
@limiter.limit(config_limit("VERIFY_RESEND_LIMIT"), key_func=_user_key, exempt_when=limits_off,
               scope="verify-resend")
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
            # The old cookie is dead; this device continues in a fresh session with the new token.
            start_session(current_user._get_current_object())
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
                        secure=current_app.config["SESSION_COOKIE_SECURE"], path="/")
    return response
