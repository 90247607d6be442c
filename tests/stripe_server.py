"""localstripe, the stateful fake Stripe server, on a free loopback port (shared by unit and e2e tests)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

WEBHOOK_SECRET = "whsec_aimak_test_secret"
SECRET_KEY = "sk_test_aimak"
PUBLISHABLE_KEY = "pk_test_aimak"
LAUNCHER = Path(__file__).resolve().parent.parent / "scripts" / "localstripe_own_state.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalStripe:
    def __init__(self, workdir: Path, state: str = ""):
        """`state`: the file (in `workdir`) its store is kept in, as the demo's; empty: memory only."""
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Through our launcher: plain localstripe writes every change to /tmp/localstripe.pickle,
        # shared with every other instance on the machine (and loaded by a demo starting).
        self.process = subprocess.Popen([sys.executable, str(LAUNCHER), "--port", str(self.port), "--state", state],
                                        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self._wait_until_up()

    def _wait_until_up(self, seconds: float = 20) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.url}/js.stripe.com/v3/", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("localstripe did not start")

    def config(self) -> dict:
        return {"STRIPE_SECRET_KEY": SECRET_KEY, "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
                "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_API_BASE": self.url,
                "STRIPE_JS_URL": f"{self.url}/js.stripe.com/v3/", "STRIPE_TIMEOUT_SECONDS": 5}

    def register_webhook(self, url: str, name: str = "aimak") -> None:
        response = requests.post(f"{self.url}/_config/webhooks/{name}", data={"url": url, "secret": WEBHOOK_SECRET},
                                 timeout=5)
        response.raise_for_status()

    def card_token(self, number: str = "4242424242424242") -> str:
        """What Stripe.js does in the browser: tokenise a card with the publishable key."""
        response = requests.post(f"{self.url}/v1/tokens", data={
            "card[number]": number, "card[exp_month]": "12", "card[exp_year]": "2031", "card[cvc]": "123",
            "key": PUBLISHABLE_KEY}, timeout=5)
        response.raise_for_status()
        return response.json()["id"]

    def intent(self, intent_id: str) -> dict:
        response = requests.get(f"{self.url}/v1/payment_intents/{intent_id}",
                                headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=5)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
