"""Search tests: a search through the catalog's service, as the product list runs it."""
from __future__ import annotations

import pytest

from marketplace.catalog import queries
from marketplace.catalog.filters import ProductFilters
from marketplace.search import vocabulary
from marketplace.search.queries import plan_search
from tests.catalog.conftest import listed, market  # noqa: F401 - the catalog's fixtures, used here too


def found(q: str, per_page: int = 10, market_id: int | None = None, **filters) -> list[str]:
    """The names of the first products a search finds, best first."""
    page = queries.product_page(ProductFilters(q=q, **filters), per_page, plan=plan_search(q), market_id=market_id)
    return [product.name for product in page.pagination.items]


@pytest.fixture(autouse=True)
def _fresh_vocabulary():
    """Tables are emptied after each test: the admin's words must not outlive their test."""
    vocabulary.forget()
    yield
    vocabulary.forget()
