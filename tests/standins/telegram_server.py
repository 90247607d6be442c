"""A Telegram Bot API stand-in on a free loopback port, for a bot whose API base URL is
configurable (python-telegram-bot's ``Bot(token, base_url=api.base_url)``).

It answers ``/bot<token>/<method>`` (GET or POST; query, form, multipart or JSON
parameters, as Telegram accepts them) in the Bot API's envelope (``{"ok": true,
"result": ...}`` or ``{"ok": false, "error_code", "description", "parameters"}``) for:
getMe, sendMessage, editMessageText, setWebhook, deleteWebhook, getWebhookInfo,
getUpdates (long polling included) and answerCallbackQuery. Other methods get 404, as
from Telegram; add them to ``_METHODS`` when a feature needs them.

The test plays the users: ``user_says`` (e.g. ``/start <token>`` from a deep link),
``user_presses`` (an inline button), ``user_blocks`` / ``user_unblocks``. Their updates
wait for getUpdates, or are POSTed at once to the webhook when one is set (with the
secret token header). What the bot sent is in ``sent``; every call is in ``calls``.

Faults as Telegram shows them: ``rate_limit(sends=N, retry_after=S)`` answers the next N
sends with 429 and ``retry_after``; a user who blocked the bot gets 403 "Forbidden: bot was
blocked by the user" for every send. HTML messages are checked as Telegram checks them
(unknown tags such as ``<br>``, unbalanced tags and a bare ``<`` are refused with 400
"can't parse entities"); MarkdownV2 is not checked.

Unlike Telegram, the webhook may be plain http on loopback (the test app's server).
"""
from __future__ import annotations

import html
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
import requests
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

TOKEN = "123456789:AAE-aimak-test-token_0123456789abcdef"
BOT_USERNAME = "aimak_test_bot"
#: Telegram's longest long poll; a bot asking for more gets this.
MAX_POLL_SECONDS = 50
#: Methods that send to a chat: rate limits and blocked users apply to these.
SENDING_METHODS = frozenset({"sendmessage", "editmessagetext"})
#: How a form or query value is read (python-telegram-bot sends objects as JSON strings).
_JSON_PARAMETERS = frozenset({"reply_markup", "entities", "allowed_updates", "link_preview_options",
                              "reply_parameters"})
_INTEGER_PARAMETERS = frozenset({"chat_id", "message_id", "offset", "limit", "timeout", "cache_time",
                                 "max_connections", "message_thread_id"})
_BOOLEAN_PARAMETERS = frozenset({"disable_notification", "protect_content", "show_alert", "drop_pending_updates",
                                 "allow_sending_without_reply", "disable_web_page_preview"})


class ApiError(Exception):
    """A Bot API refusal: becomes ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, status: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


@dataclass(frozen=True)
class TelegramUser:
    """A person in Telegram; ``id`` is also their private chat's id with the bot."""

    id: int
    first_name: str = "Aigerim"
    username: str | None = None
    language_code: str | None = "ru"

    def as_json(self) -> dict:
        data = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass(frozen=True)
class SentMessage:
    """A message the bot sent (or edited), as it asked for it."""

    message_id: int
    chat_id: int | str
    text: str  #: as sent, markup included
    parse_mode: str | None
    reply_markup: dict | None
    params: dict  #: every parameter of the call, decoded
    method: str = "sendMessage"


@dataclass(frozen=True)
class ApiCall:
    method: str  #: as the bot wrote it
    params: dict
    status: int  #: 200, or the error code answered


@dataclass
class _Webhook:
    url: str = ""
    secret_token: str | None = None
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class _State:
    updates: list[dict] = field(default_factory=list)  #: not yet confirmed by getUpdates or the webhook
    sent: list[SentMessage] = field(default_factory=list)
    calls: list[ApiCall] = field(default_factory=list)
    users: dict[int, TelegramUser] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    rate_limited_sends: int = 0
    retry_after: int = 0
    open_callback_queries: set[str] = field(default_factory=set)
    answered_callback_queries: list[dict] = field(default_factory=list)
    webhook: _Webhook = field(default_factory=_Webhook)


class TelegramBotAPI:
    """``with TelegramBotAPI() as api:`` then ``Bot(api.token, base_url=api.base_url)``."""

    def __init__(self, token: str = TOKEN, bot_username: str = BOT_USERNAME):
        self.token = token
        self.bot_username = bot_username
        self.bot = {"id": int(token.split(":")[0]), "is_bot": True, "first_name": "Aimak",
                    "username": bot_username}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._state = _State()
        self._update_ids = itertools.count(700_000_001)
        self._message_ids = itertools.count(1)
        self._stopping = threading.Event()
        self._server = None
        self._thread: threading.Thread | None = None

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> TelegramBotAPI:
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler)
        # A short poll interval: stop() waits for one, and tests start and stop a server each.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="telegram-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()  # wake long polls
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = None

    def __enter__(self) -> TelegramBotAPI:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Telegram stand-in is not running")
        return f"http://127.0.0.1:{self._server.socket.getsockname()[1]}"

    @property
    def base_url(self) -> str:
        """What python-telegram-bot's ``base_url`` wants: the token is appended to it."""
        return f"{self.url}/bot"

    def config(self) -> dict:
        """Settings for the app's messenger feature (names to keep in step with config.py)."""
        return {"TELEGRAM_BOT_TOKEN": self.token, "TELEGRAM_API_BASE_URL": self.base_url,
                "TELEGRAM_BOT_USERNAME": self.bot_username}

    # -- what the test reads ------------------------------------------------------------

    @property
    def sent(self) -> list[SentMessage]:
        with self._lock:
            return list(self._state.sent)

    def sent_to(self, chat_id: int | str) -> list[SentMessage]:
        return [message for message in self.sent if message.chat_id == chat_id]

    @property
    def calls(self) -> list[ApiCall]:
        with self._lock:
            return list(self._state.calls)

    @property
    def answered_callback_queries(self) -> list[dict]:
        with self._lock:
            return list(self._state.answered_callback_queries)

    @property
    def pending_updates(self) -> list[dict]:
        """Updates not yet fetched and confirmed by the bot (or not accepted by its webhook)."""
        with self._lock:
            return list(self._state.updates)

    @property
    def webhook_url(self) -> str:
        with self._lock:
            return self._state.webhook.url

    # -- what the test makes happen --------------------------------------------------------

    def rate_limit(self, sends: int = 1, retry_after: int = 1) -> None:
        """The next ``sends`` sends get 429 "Too Many Requests: retry after N"."""
        with self._lock:
            self._state.rate_limited_sends = sends
            self._state.retry_after = retry_after

    def user_says(self, user: TelegramUser, text: str) -> dict:
        """The user writes to the bot (``/start <payload>`` is what a deep link sends). Returns the update."""
        message = {"message_id": next(self._message_ids), "from": user.as_json(), "date": int(time.time()),
                   "chat": self._chat(user), "text": text}
        command = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
        if command:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command.group())}]
        with self._lock:
            self._state.users[user.id] = user
        return self._push({"message": message})

    def user_presses(self, user: TelegramUser, callback_data: str, message: SentMessage | None = None) -> dict:
        """The user presses an inline button (by default under the last message sent to them)."""
        message = message or self.sent_to(user.id)[-1]
        query_id = str(next(self._update_ids) * 7919)
        with self._lock:
            self._state.open_callback_queries.add(query_id)
        query = {"id": query_id, "from": user.as_json(), "chat_instance": f"ci{user.id}", "data": callback_data,
                 "message": {"message_id": message.message_id, "from": self.bot, "date": int(time.time()),
                             "chat": self._chat(user), "text": _parse_html(message.text)[0]
                             if message.parse_mode == "HTML" else message.text}}
        if message.reply_markup:
            query["message"]["reply_markup"] = message.reply_markup
        return self._push({"callback_query": query})

    def user_blocks(self, user: TelegramUser) -> dict:
        """The user blocks the bot: sends to them get 403 and the bot is told (my_chat_member)."""
        with self._lock:
            self._state.blocked.add(user.id)
        return self._push({"my_chat_member": self._member_change(user, "member", "kicked")})

    def user_unblocks(self, user: TelegramUser) -> dict:
        with self._lock:
            self._state.blocked.discard(user.id)
        return self._push({"my_chat_member": self._member_change(user, "kicked", "member")})

    def deliver_pending(self) -> int:
        """Retry webhook delivery of what the webhook refused before (Telegram retries by itself)."""
        with self._lock:
            pending = list(self._state.updates)
        return sum(self._deliver(update) for update in pending)

    # -- building updates ----------------------------------------------------------------

    def _chat(self, user: TelegramUser) -> dict:
        chat = {"id": user.id, "type": "private", "first_name": user.first_name}
        if user.username:
            chat["username"] = user.username
        return chat

    def _member_change(self, user: TelegramUser, old: str, new: str) -> dict:
        new_member = {"user": self.bot, "status": new}
        if new == "kicked":
            new_member["until_date"] = 0
        return {"chat": self._chat(user), "from": user.as_json(), "date": int(time.time()),
                "old_chat_member": {"user": self.bot, "status": old}, "new_chat_member": new_member}

    def _push(self, content: dict) -> dict:
        update = {"update_id": next(self._update_ids), **content}
        with self._changed:
            self._state.updates.append(update)
            self._changed.notify_all()
            has_webhook = bool(self._state.webhook.url)
        if has_webhook:
            self._deliver(update)
        return update

    def _deliver(self, update: dict) -> bool:
        """POST one update to the webhook; it stays pending unless the webhook answers 2xx."""
        with self._lock:
            webhook = self._state.webhook
            url, secret, allowed = webhook.url, webhook.secret_token, webhook.allowed_updates
        if not url:
            return False
        if allowed and _update_type(update) not in allowed:
            self._confirm(lambda pending: pending is update)
            return False
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        try:
            response = requests.post(url, json=update, headers=headers, timeout=10)
            error = (None if response.ok
                     else f"Wrong response from the webhook: {response.status_code} {response.reason}")
        except requests.RequestException as exc:
            error = f"Connection failed: {exc.__class__.__name__}"
        if error:
            with self._lock:
                self._state.webhook.last_error_date = int(time.time())
                self._state.webhook.last_error_message = error
            return False
        self._confirm(lambda pending: pending is update)
        return True

    def _confirm(self, gone: Callable[[dict], bool]) -> None:
        with self._lock:
            self._state.updates = [update for update in self._state.updates if not gone(update)]

    # -- the HTTP side -------------------------------------------------------------------

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", request.path)
        method, params = (match.group(2) if match else request.path), {}
        try:
            if not match:
                raise ApiError(404, "Not Found")
            if match.group(1) != self.token:
                raise ApiError(401, "Unauthorized")
            handler = _METHODS.get(method.lower())
            if handler is None:
                raise ApiError(404, "Not Found")
            params = _params(request)
            result = handler(self, params)
            status, body = 200, {"ok": True, "result": result}
        except ApiError as exc:
            status, body = exc.status, {"ok": False, "error_code": exc.status, "description": exc.description}
            if exc.parameters:
                body["parameters"] = exc.parameters
        with self._lock:
            self._state.calls.append(ApiCall(method, params, status))
        response = Response(json.dumps(body, ensure_ascii=False), status=status, content_type="application/json")
        return response(environ, start_response)

    def _check_can_send(self, chat_id: int | str) -> None:
        with self._lock:
            if self._state.rate_limited_sends > 0:
                self._state.rate_limited_sends -= 1
                retry_after = self._state.retry_after
                raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
            if chat_id in self._state.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _message_json(self, message: SentMessage, plain: str, entities: list[dict]) -> dict:
        with self._lock:
            user = self._state.users.get(message.chat_id) if isinstance(message.chat_id, int) else None
        chat = self._chat(user) if user else {"id": message.chat_id, "type": "private"}
        result = {"message_id": message.message_id, "from": self.bot, "chat": chat, "date": int(time.time()),
                  "text": plain}
        if entities:
            result["entities"] = entities
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            result["reply_markup"] = message.reply_markup
        if message.method == "editMessageText":
            result["edit_date"] = int(time.time())
        return result

    # -- methods -----------------------------------------------------------------------

    def _get_me(self, params: dict) -> dict:
        return {**self.bot, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False}

    def _send_message(self, params: dict, method: str = "sendMessage", message_id: int | None = None) -> dict:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise ApiError(400, "Bad Request: chat_id is empty")
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        parse_mode = params.get("parse_mode") or None
        plain, entities = _parse_html(text) if parse_mode and parse_mode.upper() == "HTML" else (text, [])
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(plain) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        reply_markup = params.get("reply_markup")
        _check_reply_markup(reply_markup)
        self._check_can_send(chat_id)
        message = SentMessage(message_id or next(self._message_ids), chat_id, text, parse_mode, reply_markup,
                              params, method)
        with self._lock:
            self._state.sent.append(message)
        return self._message_json(message, plain, entities)

    def _edit_message_text(self, params: dict) -> dict:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: inline messages are not supported by the stand-in")
        message_id = params.get("message_id")
        with self._lock:
            known = any(sent.message_id == message_id and sent.chat_id == params.get("chat_id")
                        for sent in self._state.sent)
        if not known:
            raise ApiError(400, "Bad Request: message to edit not found")
        return self._send_message(params, "editMessageText", message_id)

    def _set_webhook(self, params: dict) -> bool:
        url = params.get("url") or ""
        if url and not re.match(r"https?://", url):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token") or None
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        with self._lock:
            if params.get("drop_pending_updates"):
                self._state.updates.clear()
            self._state.webhook = _Webhook(url=url, secret_token=secret,
                                           allowed_updates=params.get("allowed_updates") or None)
        return True

    def _delete_webhook(self, params: dict) -> bool:
        with self._lock:
            if params.get("drop_pending_updates"):
                self._state.updates.clear()
            self._state.webhook = _Webhook()
        return True

    def _get_webhook_info(self, params: dict) -> dict:
        with self._lock:
            webhook = self._state.webhook
            info = {"url": webhook.url, "has_custom_certificate": False,
                    "pending_update_count": len(self._state.updates)}
            if webhook.allowed_updates:
                info["allowed_updates"] = webhook.allowed_updates
            if webhook.last_error_date:
                info["last_error_date"] = webhook.last_error_date
                info["last_error_message"] = webhook.last_error_message
        return info

    def _get_updates(self, params: dict) -> list[dict]:
        offset = params.get("offset")
        limit = min(max(params.get("limit") or 100, 1), 100)
        timeout = min(max(params.get("timeout") or 0, 0), MAX_POLL_SECONDS)
        allowed = params.get("allowed_updates") or None
        deadline = time.monotonic() + timeout
        with self._changed:
            if self._state.webhook.url:
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                    "use deleteWebhook to delete the webhook first")
            if offset is not None and offset > 0:
                # Asking from `offset` confirms every update before it: Telegram forgets them.
                self._state.updates = [u for u in self._state.updates if u["update_id"] >= offset]
            while True:
                ready = [u for u in self._state.updates if not allowed or _update_type(u) in allowed]
                if offset is not None and offset < 0:
                    ready = ready[offset:]
                if ready or self._stopping.is_set():
                    return ready[:limit]
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                self._changed.wait(left)

    def _answer_callback_query(self, params: dict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        with self._lock:
            if query_id not in self._state.open_callback_queries:
                raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is "
                                    "invalid")
            self._state.open_callback_queries.discard(query_id)
            self._state.answered_callback_queries.append(params)
        return True


_METHODS: dict[str, Callable[[TelegramBotAPI, dict], Any]] = {
    "getme": TelegramBotAPI._get_me,
    "sendmessage": TelegramBotAPI._send_message,
    "editmessagetext": TelegramBotAPI._edit_message_text,
    "setwebhook": TelegramBotAPI._set_webhook,
    "deletewebhook": TelegramBotAPI._delete_webhook,
    "getwebhookinfo": TelegramBotAPI._get_webhook_info,
    "getupdates": TelegramBotAPI._get_updates,
    "answercallbackquery": TelegramBotAPI._answer_callback_query,
}


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args) -> None:
        pass  # the call log is the record


# -- parameters ------------------------------------------------------------------------------


def _params(request: Request) -> dict:
    """Query, form, multipart and JSON parameters, decoded to what Telegram would read."""
    raw: dict[str, Any] = dict(request.args.items())
    raw.update(request.form.items())
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: invalid JSON")
        raw.update(body)
    return {name: _decode(name, value) for name, value in raw.items()}


def _decode(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name in _JSON_PARAMETERS:
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from exc
    if name in _BOOLEAN_PARAMETERS:
        return value.lower() in ("true", "1")
    if name in _INTEGER_PARAMETERS and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def _update_type(update: dict) -> str:
    return next(key for key in update if key != "update_id")


def _utf16_len(text: str) -> int:
    """Telegram counts offsets and lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _check_reply_markup(markup: Any) -> None:
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise ApiError(400, "Bad Request: can't parse inline keyboard button: Text is not specified")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            actions = {"url", "callback_data", "web_app", "login_url", "switch_inline_query", "pay",
                       "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
                       "callback_game"}
            if not actions & button.keys():
                raise ApiError(400, "Bad Request: can't parse inline keyboard button: Text buttons are "
                                    "unallowed in the inline keyboard")


# -- HTML parse mode (https://core.telegram.org/bots/api#html-style) ----------------------------

_ENTITY_OF_TAG = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
                  "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
                  "tg-spoiler": "spoiler", "span": "spoiler", "a": "text_link", "code": "code", "pre": "pre",
                  "blockquote": "blockquote", "tg-emoji": "custom_emoji"}
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[A-Za-z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)"
                  r"\s*>")
_ATTRIBUTE = re.compile(r"([A-Za-z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_CHARACTER_REFERENCE = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9A-Fa-f]+);")


def _parse_html(text: str) -> tuple[str, list[dict]]:
    """The message as Telegram shows it (tags out, entities in) and its entities; ApiError if Telegram
    would refuse it."""
    plain: list[str] = []
    length = 0  # UTF-16 units in `plain`
    open_tags: list[tuple[str, int, dict]] = []
    entities: list[dict] = []
    position = 0
    while position < len(text):
        if text[position] == "<":
            offset = len(text[:position].encode())
            tag = _TAG.match(text, position)
            if not tag:
                raise ApiError(400, f"Bad Request: can't parse entities: Unexpected \"<\" at byte offset {offset}")
            closing, name, attributes = tag.group(1), tag.group(2).lower(), tag.group(3)
            if name not in _ENTITY_OF_TAG:
                kind = "end" if closing else "start"
                raise ApiError(400, f"Bad Request: can't parse entities: Unsupported {kind} tag \"{name}\" at "
                                    f"byte offset {offset}")
            if closing:
                if not open_tags or open_tags[-1][0] != name:
                    raise ApiError(400, f"Bad Request: can't parse entities: Unmatched end tag at byte offset "
                                        f"{offset}, expected \"</{open_tags[-1][0]}>\", found \"</{name}>\""
                                   if open_tags else f"Bad Request: can't parse entities: Unexpected end tag at "
                                                     f"byte offset {offset}")
                name, start, attrs = open_tags.pop()
                entity = _entity(name, attrs, start, length - start, open_tags)
                if entity:
                    entities.append(entity)
            else:
                attrs = {match.group(1).lower(): next((g for g in match.groups()[1:] if g is not None), "")
                         for match in _ATTRIBUTE.finditer(attributes)}
                if name == "span" and attrs.get("class") != "tg-spoiler":
                    raise ApiError(400, f"Bad Request: can't parse entities: Tag \"span\" must have class "
                                        f"\"tg-spoiler\" at byte offset {offset}")
                open_tags.append((name, length, attrs))
            position = tag.end()
            continue
        if text[position] == "&":
            reference = _CHARACTER_REFERENCE.match(text, position)
            if reference:
                character = html.unescape(reference.group())
                plain.append(character)
                length += _utf16_len(character)
                position = reference.end()
                continue
        plain.append(text[position])
        length += _utf16_len(text[position])
        position += 1
    if open_tags:
        raise ApiError(400, f"Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
                            f"\"{open_tags[-1][0]}\"")
    entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return "".join(plain), entities


def _entity(name: str, attrs: dict, offset: int, length: int, outer: list[tuple[str, int, dict]]) -> dict | None:
    if length == 0:
        return None  # Telegram drops empty entities
    entity = {"type": _ENTITY_OF_TAG[name], "offset": offset, "length": length}
    if name == "a":
        entity["url"] = attrs.get("href", "")
    elif name == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif name == "tg-emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    elif name == "code" and outer and outer[-1][0] == "pre" and attrs.get("class", "").startswith("language-"):
        outer[-1][2]["language"] = attrs["class"].removeprefix("language-")
        return None  # <pre><code class="language-x"> is one pre entity with a language
    elif name == "pre":
        language = attrs.get("language")
        if language:
            entity["language"] = language
    return entity


@pytest.fixture
def telegram_api():
    """A running Telegram Bot API stand-in for one test (import it into a conftest)."""
    with TelegramBotAPI() as api:
        yield api
