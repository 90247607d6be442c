"""What every browser journey shares: viewports, the page guard, snap() and the login helpers.

Journeys find things the way a person does (role, label, visible text); the guard fails a
journey on what a person would notice too: a JavaScript error, a missing stylesheet or
picture, a server error, or a phone page that scrolls sideways.
"""
from __future__ import annotations

import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from marketplace.demo import DEMO_PASSWORD

SKIP_REASON = "Chromium not installed: browser journeys skipped (apt-get install chromium)"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
PHONE_USER_AGENT = ("Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 "
                    "(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36")


def chromium_path() -> str | None:
    """Debian's Chromium (Playwright's own download does not work on our machines);
    CHROMIUM_PATH, when set, is the only one tried."""
    override = os.environ.get("CHROMIUM_PATH")
    candidates = [override] if override else ["/usr/bin/chromium", shutil.which("chromium")]
    return next((c for c in candidates if c and os.path.exists(c)), None)


@dataclass(frozen=True)
class Viewport:
    name: str
    width: int
    height: int
    phone: bool

    def context_options(self) -> dict:
        options = {"viewport": {"width": self.width, "height": self.height}}
        if self.phone:
            options.update(is_mobile=True, has_touch=True, device_scale_factor=2, user_agent=PHONE_USER_AGENT)
        return options


DESKTOP = Viewport("desktop", 1280, 800, phone=False)
PHONE = Viewport("phone", 375, 812, phone=True)
VIEWPORTS = [DESKTOP, PHONE]

# Requests of these kinds make up the page a person sees; a failure is a broken page.
ASSET_TYPES = {"stylesheet", "script", "image", "font", "media"}

# Leaf elements wider than the viewport, so a failure names the culprit.
OVERFLOW_SCRIPT = """(width) => {
  const over = (el) => el.getBoundingClientRect().right > width + 1;
  const describe = (el) => {
    const classes = (typeof el.className === 'string' && el.className.trim())
      ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
    return el.tagName.toLowerCase() + classes + ' "' + (el.textContent || '').trim().slice(0, 40) + '"';
  };
  const scrollWidth = document.documentElement.scrollWidth;
  if (scrollWidth <= width) return null;
  const culprits = [...document.body.querySelectorAll('*')]
    .filter((el) => over(el) && ![...el.children].some(over)).slice(0, 5).map(describe);
  return {scrollWidth, culprits};
}"""


@dataclass
class Recorder:
    """One test's screenshots: test-artifacts/screenshots/<test>-<viewport>/<n>-<name>.png."""

    folder: Path
    count: int = 0

    def next_path(self, name: str) -> Path:
        self.count += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / f"{self.count:02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"


@dataclass
class PageGuard:
    """Collects what went wrong in one page; check() raises with all of it."""

    page: Page
    origin: str
    viewport: Viewport
    recorder: Recorder
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.problems.append(f"JavaScript error on {self.page.url}: {error}"))
        self.page.on("requestfailed", self._on_request_failed)
        self.page.on("response", self._on_response)

    def _same_origin(self, url: str) -> bool:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}" == self.origin

    def _is_asset(self, request) -> bool:
        path = urlsplit(request.url).path
        return request.resource_type in ASSET_TYPES or path.startswith(("/static/", "/media/"))

    def _on_console(self, message) -> None:
        # "Failed to load resource" repeats what the response and request checks below say
        # with the URL, and is also logged for pages a journey opens on purpose (a 404).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console error on {self.page.url}: {message.text}")

    def _on_request_failed(self, request) -> None:
        failure = request.failure or ""
        # ERR_ABORTED: the browser dropped a request because the page navigated on.
        # ERR_INTERNET_DISCONNECTED: a journey took the phone offline on purpose (the favicon
        # asked for meanwhile failed a field journey on PostgreSQL).
        if self._same_origin(request.url) and not any(
                expected in failure for expected in ("ERR_ABORTED", "ERR_INTERNET_DISCONNECTED")):
            self.problems.append(f"request failed: {request.method} {request.url} ({failure})")

    def _on_response(self, response) -> None:
        if not self._same_origin(response.url):
            return
        if response.status >= 500:
            self.problems.append(f"server error {response.status}: {response.request.method} {response.url}")
        elif response.status >= 400 and self._is_asset(response.request):
            self.problems.append(f"page asset {response.status}: {response.url} (on {self.page.url})")

    def check_overflow(self) -> None:
        if not self.viewport.phone or self.page.is_closed():
            return
        overflow = self.page.evaluate(OVERFLOW_SCRIPT, self.viewport.width)
        if overflow:
            self.problems.append(
                f"{self.page.url} is {overflow['scrollWidth']}px wide on a {self.viewport.width}px phone; "
                f"too wide: {', '.join(overflow['culprits']) or '(no single element)'}")

    def check(self) -> None:
        if not self.page.is_closed():
            self.page.evaluate("0")  # lets pending console and network events arrive
        if self.problems:
            problems, self.problems = self.problems, []
            raise AssertionError("The page has problems a person would see:\n  " + "\n  ".join(problems))


_guards: dict[Page, PageGuard] = {}


def register_guard(guard: PageGuard) -> None:
    _guards[guard.page] = guard


def forget_guard(page: Page) -> None:
    _guards.pop(page, None)


def snap(page: Page, name: str) -> Path:
    """Full-page screenshot of what the person sees now; fails on any problem so far."""
    guard = _guards[page]
    page.wait_for_load_state("load")
    path = guard.recorder.next_path(name)
    page.screenshot(path=str(path), full_page=True)
    guard.check_overflow()
    guard.check()
    return path


def open_menu(page: Page):
    """The main navigation; on a phone it sits in the closed "Menu" and is opened first."""
    menu = page.get_by_text("Menu", exact=True)
    navigation = page.get_by_role("navigation", name="Main")
    # The <nav> itself has no height (its list floats over the page on a phone): ask the list.
    links = navigation.get_by_role("list")
    if not links.is_visible() and menu.is_visible():
        menu.click()
    expect(links).to_be_visible()
    return navigation


def go_to(page: Page, link_name: str) -> None:
    """Follow a link of the main navigation, as a person would."""
    open_menu(page).get_by_role("link", name=link_name, exact=True).click()
    page.wait_for_load_state("load")


def login_as(page: Page, base_url: str, email: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the real form; fails with the form's message when refused."""
    page.goto(base_url.rstrip("/") + "/login")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_load_state("load")
    if urlsplit(page.url).path == "/login":
        raise AssertionError(f"login as {email} refused: {page.locator('main').inner_text()}")


def logout(page: Page) -> None:
    open_menu(page).get_by_role("button", name="Log out", exact=True).click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()


@contextmanager
def connection_lost(page: Page):
    """The phone loses its connection inside the block (a field with no signal), and gets it back.

    Requests that fail while offline are what the block is about: they are not counted as
    broken page requests (anything else the page does wrong still is).
    """
    guard = _guards[page]
    page.context.set_offline(True)
    try:
        yield
    finally:
        page.context.set_offline(False)
        guard.problems = [p for p in guard.problems if "ERR_INTERNET_DISCONNECTED" not in p]


def slow_connection(page: Page, latency_ms: int = 300, kbit_per_s: int = 256) -> None:
    """A weak mobile connection for this page (Chromium's network emulation)."""
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": latency_ms,
        "downloadThroughput": kbit_per_s * 1024 / 8, "uploadThroughput": kbit_per_s * 1024 / 8})


# --- The shop's checks on every customer page (issue #20): accessibility and weight ----------

#: axe-core impacts that fail a page; "moderate" and "minor" are reported, not failed.
AXE_FAILING_IMPACTS = {"serious", "critical"}
#: Every page of a customer journey stays under this, transferred without images (HTML, CSS, JS).
MAX_PAGE_BYTES = 100 * 1024

WEIGHT_SCRIPT = """() => {
  const isImage = (e) => e.initiatorType === 'img' || e.name.includes('/media/') ||
    /\\.(png|jpe?g|webp|gif|svg|avif|ico)(\\?|$)/i.test(e.name);
  // Bytes on the wire, or the body's size when the browser had it cached: the page as a first visit.
  const size = (e) => Math.max(e.transferSize || 0, e.encodedBodySize || 0);
  const nav = performance.getEntriesByType('navigation')[0];
  const parts = [[location.pathname, nav ? size(nav) : 0]];
  for (const e of performance.getEntriesByType('resource')) {
    if (!isImage(e)) { parts.push([e.name.replace(location.origin, ''), size(e)]); }
  }
  return parts;
}"""


def page_weight(page: Page) -> tuple[int, list]:
    """(bytes of the page without images, [(url, bytes)]) of what the page has loaded so far."""
    parts = page.evaluate(WEIGHT_SCRIPT)
    return sum(size for _url, size in parts), parts


def axe_violations(page: Page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [v for v in results.response["violations"] if v.get("impact") in AXE_FAILING_IMPACTS]


def audit(page: Page, name: str) -> Path:
    """snap(), then on a phone: no serious or critical axe violation, and under MAX_PAGE_BYTES."""
    path = snap(page, name)
    guard = _guards[page]
    if not guard.viewport.phone:
        return path
    violations = axe_violations(page)
    assert not violations, f"axe on {page.url}:\n" + "\n".join(
        f"  {v['impact']} {v['id']}: {v['help']} — " + ", ".join(str(n['target']) for n in v['nodes'][:3])
        for v in violations)
    total, parts = page_weight(page)
    assert total < MAX_PAGE_BYTES, f"{page.url} weighs {total} bytes without images: {parts}"
    return path
