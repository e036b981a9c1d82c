"""First-run set-up, sign in and sign out."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from pwa.console.forms import LanguageForm, LoginForm, SetPasswordForm, SetupForm
from ringround.accounts import (
    AccountError,
    authenticate,
    end_all_sessions,
    is_fresh_instance,
    set_language,
    set_password,
    set_up_instance,
)
from ringround.extensions import db, limiter
from ringround.i18n import choose_locale
from ringround.organizations import SettingsError, guess_country, guess_zone
from ringround.redirects import safe_next_path
from web.context import ORG_SESSION_KEY, home_url
from web.language import browser_languages

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _safe_next(default: str) -> str:
    return safe_next_path(request.args.get("next")) or default


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    if not is_fresh_instance(db.session):
        return redirect(url_for("auth.login"))
    form = SetupForm()
    if request.method == "GET":
        # A first guess from the browser's languages; static/js/zone.js refines it from the
        # browser's time zone (both stay select lists the person can change).
        country = guess_country(None, [tag for tag, _q in request.accept_languages]) or "US"
        form.country.data, form.time_zone.data = country, guess_zone(country)
        form.language.data = choose_locale(browser=browser_languages())
        form.country.render_kw = form.time_zone.render_kw = {"data-guess": "zone"}
    if form.validate_on_submit():
        try:
            org, user = set_up_instance(
                db.session, org_name=form.org_name.data, email=form.email.data,
                password=form.password.data, display_name=form.display_name.data,
                country=form.country.data, time_zone=form.time_zone.data,
                language=form.language.data or choose_locale(browser=browser_languages()),
            )
        except SettingsError as error:
            db.session.rollback()
            form[error.field].errors = [str(error)]
        except AccountError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            login_user(user)
            session[ORG_SESSION_KEY] = org.id
            flash(_("Welcome! %(org)s is ready.", org=org.name), "success")
            return redirect(url_for("console.dashboard"))
    return render_template("auth/setup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_url())
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(db.session, form.email.data, form.password.data)
        if user is None:
            flash(_("That email and password do not match an account."), "error")
        else:
            db.session.commit()
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(home_url()))
    return render_template("auth/login.html", form=form)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def account_password():
    """Set a password (phone-only organizers are asked to, on every console page)."""
    form = SetPasswordForm()
    valid = form.validate_on_submit()
    if request.method == "POST" and not current_user.email and not form.email.data:
        form.email.errors = [_("Please give the email you will sign in with.")]
        valid = False
    if valid:
        try:
            set_password(db.session, current_user, password=form.password.data,
                         email=form.email.data)
        except AccountError as error:
            db.session.rollback()
            form.email.errors = [str(error)]
        else:
            db.session.commit()
            flash(_("Your password is set. Sign in with your email on other devices."),
                  "success")
            return redirect(home_url())
    return render_template("auth/password.html", form=form)


@bp.post("/account/language")
@login_required
def account_language():
    """The language switch of the caller app and the console: the person's own choice."""
    form = LanguageForm()  # CSRF is checked before any view (CSRFProtect)
    back = safe_next_path(form.next.data) or home_url()
    try:
        set_language(db.session, current_user, form.language.data)
    except AccountError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
    return redirect(back)


@bp.post("/logout")
def logout():
    """Sign out everywhere and tell this browser to wipe what it keeps for the site.

    The caller page first sends waiting results (or has the volunteer confirm losing them).
    """
    if current_user.is_authenticated:
        end_all_sessions(db.session, current_user)
        db.session.commit()
    # Clear first: logout_user() leaves a note in the session that makes Flask-Login delete
    # the remember cookie on this response.
    session.clear()
    logout_user()
    flash(_("You are signed out."), "success")
    response = redirect(url_for("auth.login"))
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response
