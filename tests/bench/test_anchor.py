"""The bench's external anchor, and how bench/run.py turns interleaved rounds into shares."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.anchor import CARDS, create_anchor_app
from bench.run import summarise

ROOT = Path(__file__).resolve().parents[2]


def test_anchor_page_has_24_cards_each_with_two_badges_and_both_links():
    response = create_anchor_app().test_client().get("/anchor")

    assert response.status_code == 200
    cards = response.get_data(as_text=True).split('<li class="card product-card">')[1:]
    assert len(cards) == CARDS == 24
    for card in cards:
        assert card.count('class="badge badge-ok"') == 2
        assert re.search(r'href="/products/\d+"', card) and re.search(r'href="/producers/[\w-]+"', card)


def test_anchor_imports_nothing_of_ours():
    # A fresh interpreter: in this one, the test suite has already imported marketplace.
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, bench.anchor; "
                               "print(sorted(m for m in sys.modules if m.split('.')[0] == 'marketplace'))"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"


def _figures(rps: float) -> dict:
    return dict(rps=rps, p50=10.0, p99=20.0, non_2xx=0, socket_errors="")


def _sample(round_number: int, mode: str, path: str, page_rps: float, anchor_rps: float) -> dict:
    return dict(round=round_number, mode=mode, label=path, path=path,
                anchor=_figures(anchor_rps), page=_figures(page_rps))


def test_shares_are_medians_of_each_round_against_the_anchor_just_before():
    # The machine slows down and speeds up between rounds; the anchor moves with it.
    samples = [
        _sample(1, "uncached", "/ceiling", 200, 1000), _sample(1, "uncached", "/products", 50, 500),
        _sample(1, "cached", "/products", 600, 400),
        _sample(2, "uncached", "/ceiling", 100, 500), _sample(2, "uncached", "/products", 120, 1000),
        _sample(2, "cached", "/products", 1500, 1000),
        _sample(3, "uncached", "/ceiling", 48, 200), _sample(3, "uncached", "/products", 30, 200),
        _sample(3, "cached", "/products", 300, 200),
    ]
    targets = [("ceiling", "/ceiling"), ("list", "/products")]

    anchor, ceiling, page = summarise(samples, targets, {"/ceiling": 0, "/products": 7})

    assert anchor["queries"] is None and anchor["uncached"]["anchor_share"] == 1.0
    assert anchor["uncached"]["rps"] == 500  # median of 1000, 500, 500, 1000, 200, 200
    assert anchor["cached"]["rps"] == 400
    assert ceiling["uncached"]["anchor_share"] == pytest.approx(0.20)  # 20%, 20%, 24%
    assert ceiling["uncached"]["ceiling_share"] == pytest.approx(1.0)
    assert "cached" not in ceiling
    assert page["uncached"]["rps"] == 50
    assert page["uncached"]["anchor_share"] == pytest.approx(0.12)  # 10%, 12%, 15%: not 50 ÷ 500
    assert page["uncached"]["ceiling_share"] == pytest.approx(0.6)  # through the anchor: 12% ÷ 20%
    assert page["cached"]["anchor_share"] == pytest.approx(1.5)
    assert page["cached"]["ceiling_share"] == pytest.approx(7.5)
