"""Browser journeys: real Chromium driving the real app served on a loopback port.

- `live_server` (session): the app with its own fresh database (SQLite file, or a new
  PostgreSQL database when TEST_DATABASE_URL is set), migrated and seeded with the demo,
  CSRF on, served by werkzeug in a thread. `live_server.url`, `live_server.app`.
- `page`: a fresh page (own cookies) at one viewport; every test using it runs twice,
  on a desktop and on a phone. `new_page()` gives more pages (another user) in the same test.
- Every page fails its test on a JavaScript error, a broken page asset, a server error,
  or (phone) a page wider than the screen; see tests/e2e/harness.py.
"""
from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

from tests.e2e.harness import (
    SKIP_REASON,
    VIEWPORTS,
    PageGuard,
    Recorder,
    chromium_path,
    forget_guard,
    register_guard,
)

HERE = Path(__file__).parent
GUARDS = pytest.StashKey[list]()
_screenshots_written: list[Path] = []
_skipped: list[str] = []


def _e2e_required() -> bool:
    return os.environ.get("E2E_REQUIRED", "").strip() in ("1", "true", "yes")


def pytest_collection_modifyitems(config, items):
    browser_missing = chromium_path() is None
    for item in items:
        if HERE not in Path(item.path).parents:
            continue
        item.add_marker(pytest.mark.e2e)
        # Under E2E_REQUIRED=1 (CI) the `browser` fixture fails instead.
        if browser_missing and not _e2e_required():
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))
            _skipped.append(item.nodeid)


def pytest_terminal_summary(terminalreporter):
    if _screenshots_written:
        terminalreporter.write_line(f"Browser journey screenshots: {_screenshots_written[0]}")
    elif _skipped:
        terminalreporter.write_line(f"{SKIP_REASON} ({len(_skipped)} tests)")


@pytest.fixture(autouse=True)
def _empty_tables():
    """The journeys share one seeded database for the session; nothing to empty."""
    yield


@dataclass
class LiveServer:
    url: str
    app: Flask


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from marketplace.cli import create_app
    from marketplace.core.extensions import db
    from marketplace.demo import seed_demo

    drop = None
    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        from tests.conftest import _create_postgres_database

        database_url, drop = _create_postgres_database(base)
    else:
        database_url = f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'e2e.sqlite'}"
    app = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
                      "MEDIA_ROOT": str(tmp_path_factory.mktemp("e2e-media")),
                      "WTF_CSRF_ENABLED": True,
                      # A crash shows our own error page, as in production; the traceback is in the log.
                      "PROPAGATE_EXCEPTIONS": False})
    with app.app_context():
        upgrade()
        seed_demo()
        db.session.commit()
    # Port 0: the system picks a free port, so parallel runs never collide.
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["SITE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    yield LiveServer(url=url, app=app)
    server.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.engine.dispose()
    if drop:
        drop()


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    if executable is None:
        pytest.fail(f"{SKIP_REASON}; E2E_REQUIRED=1 makes this a failure", pytrace=False)
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.harness import CHROMIUM_ARGS

    # A busy CI machine (2 shared cores) is slower than a laptop.
    expect.set_options(timeout=10_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(params=VIEWPORTS, ids=[v.name for v in VIEWPORTS])
def viewport(request):
    return request.param


@pytest.fixture
def new_page(browser, live_server, viewport, request):
    """new_page() -> a guarded Page in a fresh browser context (its own cookies)."""
    from urllib.parse import urlsplit

    folder = Path(request.config.rootpath) / "test-artifacts" / "screenshots" / f"{request.node.originalname}-{viewport.name}"
    shutil.rmtree(folder, ignore_errors=True)
    recorder = Recorder(folder)
    parts = urlsplit(live_server.url)
    contexts, guards = [], []
    request.node.stash[GUARDS] = guards

    def _new_page():
        context = browser.new_context(base_url=live_server.url, locale="en-US", timezone_id="Asia/Almaty",
                                      **viewport.context_options())
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        guard = PageGuard(page, f"{parts.scheme}://{parts.netloc}", viewport, recorder)
        register_guard(guard)
        guards.append(guard)
        return page

    yield _new_page
    if recorder.count and not _screenshots_written:
        _screenshots_written.append(folder.parent)
    for guard in guards:
        forget_guard(guard.page)
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After the journey, the problems it left on its pages fail it (or are added to its failure)."""
    guards = item.stash.get(GUARDS, [])
    try:
        result = yield
    except BaseException as exc:
        for guard in guards:
            if guard.problems:
                exc.add_note("Also seen on the page:\n  " + "\n  ".join(guard.problems))
        raise
    for guard in guards:
        guard.check_overflow()
        guard.check()
    return result


# --- Card payments against localstripe (opt-in: only journeys that take `stripe`) --------

@pytest.fixture(scope="session")
def _e2e_localstripe(tmp_path_factory):
    from tests.stripe_server import LocalStripe

    server = LocalStripe(tmp_path_factory.mktemp("e2e-localstripe"))
    yield server
    server.stop()


@pytest.fixture
def stripe(live_server, _e2e_localstripe):
    """Card payments on for this journey only: the live app talks to localstripe, whose
    webhooks reach the live server. Other journeys keep the cash-only app they expect."""
    from marketplace.payments import gateway

    app = live_server.app
    saved = {key: app.config.get(key) for key in _e2e_localstripe.config()}
    app.config.update(_e2e_localstripe.config())
    _e2e_localstripe.register_webhook(f"{live_server.url}/payments/webhook")
    gateway.mark_available()
    yield _e2e_localstripe
    _e2e_localstripe.register_webhook("http://127.0.0.1:9/nowhere")
    app.config.update(saved)
