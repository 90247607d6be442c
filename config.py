"""Configuration. Every value can be overridden from the environment."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
#: Each host's working folder (SQLite database, task queue, cache, local uploads); AIMAK_INSTANCE_DIR
#: gives two instances on one machine (the two-host test) a folder each.
INSTANCE_DIR = Path(os.environ.get("AIMAK_INSTANCE_DIR") or BASE_DIR / "instance")


#: The secret `make run` signs with when SECRET_KEY is unset; production refuses it.
DEVELOPMENT_SECRET_KEY = "dev-only-not-secret"


def _env(name: str, default: str) -> str:
    """The variable's value; its default when unset or empty (`NAME=` in a copy of .env.example)."""
    return os.environ.get(name) or default


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if not value:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _served_url() -> str:
    host = os.environ.get("HOST") or "127.0.0.1"
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"  # listening everywhere; this machine's own browser opens loopback
    return f"http://{host}:{os.environ.get('PORT') or 5000}"


class Config:
    SECRET_KEY = _env("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
    PASSWORD_HASH_METHOD = "scrypt"
    SQLALCHEMY_DATABASE_URI = _env(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'aimak.sqlite'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    MEDIA_ROOT = _env("MEDIA_ROOT", str(INSTANCE_DIR / "media"))
    # 10 MB certificates are the largest legitimate upload; anything bigger is a 413.
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 10 * 1024 * 1024 + 64 * 1024)
    MAX_IMAGE_BYTES = 8 * 1024 * 1024
    MAX_DOCUMENT_BYTES = 10 * 1024 * 1024

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    LANGUAGES = ["en", "ru", "kk", "ky"]

    #: Empty: REDIS_URL when set (limits shared by every worker and host), else memory:// (one process).
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "")
    #: Our switch for rate limits, read on every request. (Flask-Limiter's own
    #: RATELIMIT_ENABLED is process-wide: the last app created would decide for all.)
    RATE_LIMITS_ON = _env_bool("RATE_LIMITS_ON", True)
    #: No X-RateLimit headers: they tell an attacker the budget; a 429 says Retry-After (web/security.py).
    RATELIMIT_HEADERS_ENABLED = False

    MAIL_SERVER = _env("MAIL_SERVER", "")
    MAIL_PORT = _env_int("MAIL_PORT", 587)
    MAIL_USERNAME = _env("MAIL_USERNAME", "")
    MAIL_PASSWORD = _env("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", True)
    MAIL_DEFAULT_SENDER = _env("MAIL_DEFAULT_SENDER", "Aimak <noreply@aimak.local>")
    #: Seconds to wait for the mail server (the worker sends; no request waits for it).
    MAIL_TIMEOUT_SECONDS = _env_int("MAIL_TIMEOUT_SECONDS", 30)
    #: Base URL used in emails (links must work outside a request). Unset, it follows HOST and
    #: PORT (what `make run` serves), so the links in development emails open this very server.
    SITE_URL = os.environ.get("SITE_URL") or _served_url()

    # --- Messages by channel (notifications, alerts): Telegram and the reminders to followers ---
    #: The bot's token and @name from BotFather; without both, Telegram hides itself everywhere.
    TELEGRAM_BOT_TOKEN = _env("TELEGRAM_BOT_TOKEN", "")
    TELEGRAM_BOT_USERNAME = _env("TELEGRAM_BOT_USERNAME", "")
    #: Empty for Telegram itself (https://api.telegram.org/bot); the loopback stand-in in tests.
    TELEGRAM_API_BASE_URL = _env("TELEGRAM_API_BASE_URL", "")
    #: Set to receive the bot's updates at SITE_URL/telegram/webhook (`flask telegram-webhook`);
    #: Telegram sends it in X-Telegram-Bot-Api-Secret-Token. Unset: `flask telegram-poll` reads them.
    TELEGRAM_WEBHOOK_SECRET = _env("TELEGRAM_WEBHOOK_SECRET", "")
    TELEGRAM_TIMEOUT_SECONDS = _env_int("TELEGRAM_TIMEOUT_SECONDS", 10)
    #: Sends per second by one worker; Telegram allows about 30 in all (a 429 pauses everyone).
    TELEGRAM_SENDS_PER_SECOND = _env_int("TELEGRAM_SENDS_PER_SECOND", 25)
    #: How long a "Link Telegram" deep link works (it works once).
    TELEGRAM_LINK_MINUTES = _env_int("TELEGRAM_LINK_MINUTES", 30)
    TELEGRAM_LINK_RATE_LIMIT = _env("TELEGRAM_LINK_RATE_LIMIT", "10 per hour")
    #: "Order by <cutoff>" goes this many hours before a market day's cutoff.
    ORDER_BY_REMINDER_HOURS = _env_int("ORDER_BY_REMINDER_HOURS", 6)
    #: No reminder to followers between these hours of the market's local time (22:00-08:00).
    QUIET_HOURS_START = _env_int("QUIET_HOURS_START", 22)
    QUIET_HOURS_END = _env_int("QUIET_HOURS_END", 8)
    #: The producers' summary of the next day's orders, at this local hour the evening before.
    PRODUCER_SUMMARY_HOUR = _env_int("PRODUCER_SUMMARY_HOUR", 18)

    PASSWORD_RESET_MAX_AGE = _env_int("PASSWORD_RESET_MAX_AGE", 3600)
    EMAIL_VERIFY_MAX_AGE = _env_int("EMAIL_VERIFY_MAX_AGE", 7 * 24 * 3600)

    # Orders
    ORDER_HOLD_MINUTES = _env_int("ORDER_HOLD_MINUTES", 15)
    NO_SHOW_GRACE_MINUTES = _env_int("NO_SHOW_GRACE_MINUTES", 30)
    HANDOVER_UNDO_MINUTES = _env_int("HANDOVER_UNDO_MINUTES", 5)
    NO_SHOW_LIMIT = _env_int("NO_SHOW_LIMIT", 2)
    PAGE_SIZE = _env_int("PAGE_SIZE", 24)

    # Stripe: empty keys mean "cash only".
    STRIPE_SECRET_KEY = _env("STRIPE_SECRET_KEY", "")
    STRIPE_PUBLISHABLE_KEY = _env("STRIPE_PUBLISHABLE_KEY", "")
    STRIPE_WEBHOOK_SECRET = _env("STRIPE_WEBHOOK_SECRET", "")
    #: e.g. http://127.0.0.1:8420 for localstripe; empty for the real Stripe.
    STRIPE_API_BASE = _env("STRIPE_API_BASE", "")
    STRIPE_JS_URL = _env("STRIPE_JS_URL", "https://js.stripe.com/v3/")
    STRIPE_TIMEOUT_SECONDS = _env_int("STRIPE_TIMEOUT_SECONDS", 10)
    CARD_WEIGHT_MARGIN_PERCENT = _env_int("CARD_WEIGHT_MARGIN_PERCENT", 15)
    CARD_HOLD_WINDOW_DAYS = _env_int("CARD_HOLD_WINDOW_DAYS", 6)
    #: How long Stripe keeps an uncaptured card hold when the charge does not say (`capture_before`).
    CARD_HOLD_DAYS = _env_int("CARD_HOLD_DAYS", 7)

    # --- The service: one settings shape for the queue, cache, limits, storage, proxy and logs ---
    #: One Redis for the task queue, the shared cache, rate limits and login throttling. Empty:
    #: the embedded defaults (Huey on SQLite in instance/, an in-process or file cache, in-memory
    #: limits), which serve one machine with nothing else installed.
    REDIS_URL = _env("REDIS_URL", "")
    #: Seconds to wait for Redis before falling back (a slow Redis must not hang a login).
    REDIS_TIMEOUT_SECONDS = float(_env("REDIS_TIMEOUT_SECONDS", "0.5"))
    #: How many proxies in front of the app set X-Forwarded-For/-Proto/-Host (nginx: 1). 0: none.
    TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)
    #: Where uploaded files live: "local" (MEDIA_ROOT) or "s3" (any S3-compatible bucket).
    STORAGE_BACKEND = _env("STORAGE_BACKEND", "local")
    S3_BUCKET = _env("S3_BUCKET", "")
    S3_ENDPOINT_URL = _env("S3_ENDPOINT_URL", "")
    S3_REGION = _env("S3_REGION", "us-east-1")
    S3_ACCESS_KEY_ID = _env("S3_ACCESS_KEY_ID", "")
    S3_SECRET_ACCESS_KEY = _env("S3_SECRET_ACCESS_KEY", "")
    #: "path" (MinIO, moto, most S3-compatible services) or "virtual" (AWS's default).
    S3_ADDRESSING_STYLE = _env("S3_ADDRESSING_STYLE", "path")
    #: The task queue's SQLite file when REDIS_URL is empty.
    TASK_QUEUE_FILE = _env("TASK_QUEUE_FILE", str(INSTANCE_DIR / "tasks.sqlite"))
    #: Run queued tasks at once in the caller (tests; a machine without a worker).
    TASK_QUEUE_IMMEDIATE = _env_bool("TASK_QUEUE_IMMEDIATE", False)
    #: "json" (one JSON object a line) or "text"; INFO by default so security events are kept.
    LOG_FORMAT = _env("LOG_FORMAT", "text")
    LOG_LEVEL = _env("LOG_LEVEL", "INFO")
    SENTRY_DSN = _env("SENTRY_DSN", "")
    # --- Security: login throttling, rate limits, passwords, cookies, HTTPS (docs/architecture.md) ---
    # Counted in Redis when REDIS_URL is set (every worker and host sees one count), in memory
    # while Redis is away. Limits are "N per M seconds|minutes|hours|day".
    #: Failed logins of one account (from any address) before each new attempt has to wait; the
    #: wait starts at LOGIN_FIRST_DELAY_SECONDS and doubles with each further failure, up to
    #: LOGIN_MAX_DELAY_SECONDS. Never a lockout: the owner's known devices and a password reset
    #: get through, and the owner is emailed when it starts.
    LOGIN_FAILURES_BEFORE_DELAY = _env_int("LOGIN_FAILURES_BEFORE_DELAY", 5)
    LOGIN_FIRST_DELAY_SECONDS = _env_int("LOGIN_FIRST_DELAY_SECONDS", 1)
    LOGIN_MAX_DELAY_SECONDS = _env_int("LOGIN_MAX_DELAY_SECONDS", 15 * 60)
    #: An account's failures are forgotten this long after the last one.
    LOGIN_FAILURE_MEMORY_SECONDS = _env_int("LOGIN_FAILURE_MEMORY_SECONDS", 24 * 3600)
    #: Failed logins from one address before its new attempts wait for the window to pass (known
    #: devices still get through). A market's Wi-Fi is one address: honest typos fit well below.
    LOGIN_ADDRESS_FAILURE_LIMIT = _env("LOGIN_ADDRESS_FAILURE_LIMIT", "40 per 10 minutes")
    #: Every login attempt from one address, right or wrong: room for a full market at opening time.
    LOGIN_ADDRESS_LIMIT = _env("LOGIN_ADDRESS_LIMIT", "300 per 10 minutes")
    #: Wrong passwords typed on a device that logged in before, until it is trusted no more.
    LOGIN_DEVICE_FAILURE_LIMIT = _env_int("LOGIN_DEVICE_FAILURE_LIMIT", 10)
    REGISTER_RATE_LIMIT = _env("REGISTER_RATE_LIMIT", "30 per 10 minutes")
    #: Forgot-password and reset-password forms sent from one address.
    PASSWORD_RESET_RATE_LIMIT = _env("PASSWORD_RESET_RATE_LIMIT", "10 per 10 minutes")
    #: Reset emails asked for one email address, whoever asks.
    PASSWORD_RESET_EMAIL_LIMIT = _env("PASSWORD_RESET_EMAIL_LIMIT", "3 per hour")
    #: Confirmation emails one account may ask for again.
    VERIFY_RESEND_LIMIT = _env("VERIFY_RESEND_LIMIT", "3 per hour")
    #: Product searches (?q=) from one address.
    SEARCH_RATE_LIMIT = _env("SEARCH_RATE_LIMIT", "120 per minute")
    #: Suggestions asked from one address while typing (one per pause of a few letters).
    SUGGEST_RATE_LIMIT = _env("SUGGEST_RATE_LIMIT", "600 per minute")
    #: zxcvbn's score (0-4) a new password needs: 3 is "safely unguessable" online and offline.
    PASSWORD_MIN_SCORE = _env_int("PASSWORD_MIN_SCORE", 3)
    #: Redirect plain HTTP to HTTPS (the proxy says which scheme the client used: TRUSTED_PROXIES).
    FORCE_HTTPS = _env_bool("FORCE_HTTPS", False)
    COOKIE_HOST_PREFIX = False
    #: Marks a browser that logged in to an account before (OWASP's device cookie).
    DEVICE_COOKIE_NAME = "device"

    #: Accept addresses at the reserved `.test` domain (demo accounts, tests); not in production.
    ALLOW_TEST_EMAIL_DOMAIN = True

    TESTING = False
    DEBUG = False


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL") or "sqlite://"
    WTF_CSRF_ENABLED = False
    RATE_LIMITS_ON = False
    MAIL_SERVER = ""
    SITE_URL = "http://localhost"
    # Fast hashing keeps the suite quick; production uses scrypt.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    MEDIA_ROOT = _env("TEST_MEDIA_ROOT", str(INSTANCE_DIR / "test-media"))
    #: Queued tasks (email delivery) run in the caller, as soon as they are queued.
    TASK_QUEUE_IMMEDIATE = True
    REDIS_URL = ""  # tests that use Redis say so
    # Telegram is off unless a test points the bot at the stand-in (tests/standins/telegram_server.py).
    TELEGRAM_BOT_TOKEN = ""
    TELEGRAM_BOT_USERNAME = ""
    TELEGRAM_SENDS_PER_SECOND = 1000


class ProductionConfig(Config):
    ALLOW_TEST_EMAIL_DOMAIN = False
    FORCE_HTTPS = True
    #: Every cookie the app sets is `__Host-<name>` in the browser: kept only from HTTPS, for
    #: this host and path / alone, so no other subdomain can plant or read one (web/security.py).
    COOKIE_HOST_PREFIX = True
    #: Login throttling and rate limits must be counted once for every worker and host.
    REDIS_REQUIRED = True
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    #: A database error's message (and so the error log) never carries the statement's
    #: parameters: password hashes, session tokens, personal data.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {**Config.SQLALCHEMY_ENGINE_OPTIONS, "hide_parameters": True}

    @classmethod
    def check(cls) -> None:
        """Refuse to start without the secrets production must not guess."""
        # Without MAIL_SERVER emails would be marked sent and lost, without SITE_URL their links
        # would point at a developer's laptop: refuse instead.
        # A blank value (a stray space in an env file) is missing too, and so is the development
        # secret printed in this file: anyone could sign session cookies with it.
        missing = [name for name in ("SECRET_KEY", "DATABASE_URL", "MAIL_SERVER", "SITE_URL")
                   if not (os.environ.get(name) or "").strip()]
        if os.environ.get("SECRET_KEY") == DEVELOPMENT_SECRET_KEY:
            missing.insert(0, "SECRET_KEY")
        if missing:
            raise RuntimeError(
                "Production needs these environment variables: " + ", ".join(missing)
            )


CONFIGS = {
    "development": Config,  # the defaults are the development settings
    "testing": TestingConfig,
    "production": ProductionConfig,
}
