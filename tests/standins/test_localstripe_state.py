"""localstripe as the demo and the tests start it (scripts/localstripe_own_state.py): each
instance has a state of its own. Plain localstripe writes every change to
/tmp/localstripe.pickle, which every instance on the machine shares and the demo loads at
start: one worktree's demo showed another's (or a test run's) intents with the same order ids."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.stripe_server import SECRET_KEY, LocalStripe

SHARED_PICKLE = Path("/tmp/localstripe.pickle")


def create_intent(server: LocalStripe, order_id: int) -> str:
    response = requests.post(f"{server.url}/v1/payment_intents", data={
        "amount": 1000, "currency": "kzt", "capture_method": "manual", "metadata[order_id]": str(order_id)},
        headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=5)
    response.raise_for_status()
    return response.json()["id"]


def known(server: LocalStripe, intent_id: str) -> bool:
    response = requests.get(f"{server.url}/v1/payment_intents/{intent_id}",
                            headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=5)
    return response.status_code == 200


@pytest.fixture
def servers():
    started = []

    def start(workdir: Path, state: str = "") -> LocalStripe:
        server = LocalStripe(workdir, state=state)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_a_tests_localstripe_writes_nothing_another_instance_reads(localstripe):
    intent_id = create_intent(localstripe, order_id=1)
    assert known(localstripe, intent_id)
    # Another localstripe on the machine (an older checkout's demo, say) may write the shared
    # file at any time, but never with our intent: only we know its random id.
    assert not SHARED_PICKLE.exists() or intent_id.encode() not in SHARED_PICKLE.read_bytes()


def test_two_demos_keep_their_own_intents_and_find_them_again_after_a_restart(tmp_path, servers):
    one = servers(tmp_path / "one", state="state.pickle")
    other = servers(tmp_path / "other", state="state.pickle")
    mine, theirs = create_intent(one, order_id=1), create_intent(other, order_id=1)  # the same order id
    assert known(one, mine) and not known(one, theirs)
    assert known(other, theirs) and not known(other, mine)
    assert (tmp_path / "one" / "state.pickle").exists()
    assert not SHARED_PICKLE.exists() or mine.encode() not in SHARED_PICKLE.read_bytes()

    one.stop()
    again = servers(tmp_path / "one", state="state.pickle")  # `make run` started again
    assert known(again, mine) and not known(again, theirs)
