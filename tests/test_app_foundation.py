"""The application as a whole: error pages, limits, config, migrations, security headers."""
import os
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import abort

from marketplace.cli import create_app
from marketplace.core.dialects import include_in_schema_comparison
from marketplace.core.extensions import db
from tests.conftest import PASSWORD
from tests.factories import UserFactory


def test_unknown_url_gets_the_404_page_in_the_site_design(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Page not found" in page and "Aimak" in page and "Go to the home page" in page


def test_a_10_mb_form_post_gets_the_413_page(client):
    response = client.post("/login", data={"email": "x" * (11 * 1024 * 1024)})
    assert response.status_code == 413
    assert "Too large" in response.get_data(as_text=True)


def test_an_unexpected_error_shows_the_500_page_without_a_stack_trace(database_url, tmp_path):
    app = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
                      "MEDIA_ROOT": str(tmp_path), "PROPAGATE_EXCEPTIONS": False})

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page
    assert "Traceback" not in page and "secret internals" not in page and "RuntimeError" not in page


@pytest.mark.parametrize("code,title", [(400, "Bad request"), (403, "Not allowed"), (429, "Too many attempts")])
def test_error_pages_share_the_design(database_url, tmp_path, code, title):
    app = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url, "MEDIA_ROOT": str(tmp_path)})
    app.add_url_rule("/fail", "fail", lambda: abort(code))
    response = app.test_client().get("/fail")
    assert response.status_code == code
    assert title in response.get_data(as_text=True)


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(database_url, tmp_path, app):
    strict = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
                         "MEDIA_ROOT": str(tmp_path), "WTF_CSRF_ENABLED": True})
    response = strict.test_client().post("/register", data={
        "name": "Eve", "email": "eve@example.test", "password": PASSWORD, "confirm": PASSWORD,
        "account_type": "customer", "producer_kind": "farmer"})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    with app.app_context():
        from marketplace.accounts.models import User

        assert db.session.scalar(db.select(db.func.count(User.id))) == 0


@pytest.fixture
def limited_app(app, database_url, tmp_path):
    """An app with rate limits on; the suite's app keeps them off (RATE_LIMITS_ON is read per app)."""
    from marketplace.core.extensions import limiter

    limited = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
                          "MEDIA_ROOT": str(tmp_path), "RATE_LIMITS_ON": True,
                          "LOGIN_ADDRESS_LIMIT": "3 per minute"})
    yield limited
    limiter.reset()


def test_login_is_rate_limited(limited_app, ctx):
    limited = limited_app
    UserFactory(email="target@example.test")
    attacker = limited.test_client()
    codes = [attacker.post("/login", data={"email": "target@example.test", "password": f"guess{i}"}).status_code
             for i in range(5)]
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]
    assert "Too many attempts" in attacker.post("/login", data={"email": "a", "password": "b"}).get_data(as_text=True)


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_production_refuses_to_start_without_its_secrets():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL", "MAIL_SERVER", "SITE_URL")}
    env["AIMAK_CONFIG"] = "production"
    result = subprocess.run([sys.executable, "-c", "from marketplace import create_app; create_app()"],
                            env=env, capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "DATABASE_URL" in result.stderr
    assert "MAIL_SERVER" in result.stderr and "SITE_URL" in result.stderr  # emails lost, or their links wrong


def test_production_refuses_blank_settings_and_the_development_secret():
    """Found by attacking #19: MAIL_SERVER=' ' (a blank line in an env file) started, and every
    email then failed; the development SECRET_KEY from the README started too (anyone who read
    it could sign session cookies)."""
    env = {**os.environ, "AIMAK_CONFIG": "production", "MAIL_SERVER": " ", "SECRET_KEY": "dev-only-not-secret",
           "DATABASE_URL": "sqlite://", "SITE_URL": "https://aimak.example.com", "REDIS_URL": "redis://127.0.0.1:6379/13"}
    result = subprocess.run([sys.executable, "-c", "from marketplace import create_app; create_app()"],
                            env=env, capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert result.returncode != 0
    assert "MAIL_SERVER" in result.stderr and "SECRET_KEY" in result.stderr


def test_production_uses_secure_cookies_and_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s3cret-from-env")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.sqlite'}")
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path))
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.test")
    monkeypatch.setenv("SITE_URL", "https://aimak.example.com")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/5")  # login throttling shared by every worker
    app = create_app("production")
    assert app.config["SECRET_KEY"] == "s3cret-from-env"
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("prod.sqlite")


def test_models_and_migrations_do_not_differ(ctx):
    """The database built by the migrations matches the models exactly."""
    with db.engine.connect() as conn:
        migration_context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": include_in_schema_comparison})
        diff = compare_metadata(migration_context, db.metadata)
    assert diff == []


def test_ids_beyond_a_database_integer_are_not_found(client, ctx):
    from tests.conftest import PASSWORD

    UserFactory(email="big@example.test")
    client.post("/login", data={"email": "big@example.test", "password": PASSWORD})
    for url in ("/orders/99999999999999999999999", "/products/9223372036854775808", "/orders/2147483648"):
        assert client.get(url).status_code == 404


def test_analyze_database_leaves_the_planner_statistics_the_product_list_needs(app, ctx):
    """SQLite keeps no statistics by itself; `flask analyze-database` (nightly, and after
    seed-demo and the bench's load) writes them, and on PostgreSQL refreshes them."""
    from sqlalchemy import text

    from tests.factories import ProductFactory

    ProductFactory()
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["analyze-database"])
    assert result.exit_code == 0 and "statistics refreshed" in result.output
    if db.engine.dialect.name == "sqlite":
        assert db.session.execute(text("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'product'")).scalar() > 0
    else:
        # reltuples is -1 until a table is first analyzed (or vacuumed); ANALYZE sets it at once.
        assert db.session.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'product'")).scalar() >= 0
