"""A loopback SMTP server (aiosmtpd) that keeps what it receives, for tests of email delivery.

    with SmtpSink() as smtp:
        app.config.update(smtp.config())
        ...
        smtp.messages  # email.message.Message objects, in order

`delay` makes it answer the end of each message late (a slow mail server, which has kept the
message all the same); `refuse` makes it refuse that many messages with a temporary 451 first.
"""
from __future__ import annotations

import asyncio
import email
import threading

from aiosmtpd.controller import Controller

from tests.stripe_server import free_port


class _Handler:
    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        # Kept before the answer, as a real server queues it: a client that stops waiting for
        # the slow answer has still had its message accepted.
        with self.sink.lock:
            refused = self.sink.refuse > 0
            if refused:
                self.sink.refuse -= 1
            else:
                self.sink.messages.append(email.message_from_bytes(envelope.content))
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        return "451 Try again later" if refused else "250 OK"


class SmtpSink:
    def __init__(self, delay: float = 0.0, refuse: int = 0):
        self.delay = delay
        self.refuse = refuse
        self.messages: list = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def config(self) -> dict:
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port, "MAIL_USE_TLS": False,
                "MAIL_USERNAME": "", "MAIL_PASSWORD": ""}

    def message_ids(self) -> list[str]:
        with self.lock:
            return [message["Message-ID"] for message in self.messages]

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.controller.stop()
