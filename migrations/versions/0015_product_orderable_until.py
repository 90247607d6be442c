"""product.orderable_until: the latest ordering cutoff of any day the product was offered on.

"Can be ordered now" on the product list was an EXISTS per product over its offers, their
market day and the vendor row; on a deep page every matching product was checked (page 125
of a filtered list: 310 ms on PostgreSQL). A harvest product can be ordered only before the
cutoff of a day it is offered on, so the list first compares this column with the clock
(indexed with `active`) and runs the EXISTS only for what passes; the answer is the same.

Kept by triggers, so every writer keeps it (the producers' forms, CSV import, the demo, the
benchmark's bulk load): an offer inserted or moved to another day raises its product's
value to that day's cutoff; a market day's cutoff moved later raises the products offered on
it. It is never lowered, so two writers racing can only leave it high (each raise compares
with the row as the other left it): a cancelled day or a removed offer costs a check until
the cutoff passes, never a product missing from the list. A reservation (reserved_milli)
does not touch it, so a sale writes no product row.

Revision ID: 0015_product_orderable_until
Revises: 0014_search_terms_only
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_product_orderable_until"
down_revision = "0014_search_terms_only"
branch_labels = None
depends_on = None

_BACKFILL = ("UPDATE product SET orderable_until = (SELECT max(market_day.cutoff_at) FROM offer "
             "JOIN market_day ON market_day.id = offer.market_day_id WHERE offer.product_id = product.id)")

_POSTGRESQL = """
CREATE FUNCTION aimak_offer_orderable_until() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE product SET orderable_until = market_day.cutoff_at
    FROM market_day
    WHERE market_day.id = NEW.market_day_id AND product.id = NEW.product_id
      AND (product.orderable_until IS NULL OR product.orderable_until < market_day.cutoff_at);
    RETURN NULL;
END $$;
CREATE TRIGGER offer_orderable_until AFTER INSERT OR UPDATE OF market_day_id, product_id ON offer
    FOR EACH ROW EXECUTE FUNCTION aimak_offer_orderable_until();
CREATE FUNCTION aimak_market_day_orderable_until() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE product SET orderable_until = NEW.cutoff_at
    WHERE product.id IN (SELECT offer.product_id FROM offer WHERE offer.market_day_id = NEW.id)
      AND (product.orderable_until IS NULL OR product.orderable_until < NEW.cutoff_at);
    RETURN NULL;
END $$;
CREATE TRIGGER market_day_orderable_until AFTER UPDATE OF cutoff_at ON market_day
    FOR EACH ROW WHEN (NEW.cutoff_at > OLD.cutoff_at) EXECUTE FUNCTION aimak_market_day_orderable_until();
"""

_SQLITE_OFFER = """
CREATE TRIGGER offer_orderable_until_{event} AFTER {clause} ON offer BEGIN
    UPDATE product SET orderable_until = (SELECT cutoff_at FROM market_day WHERE id = NEW.market_day_id)
    WHERE id = NEW.product_id
      AND (orderable_until IS NULL
           OR orderable_until < (SELECT cutoff_at FROM market_day WHERE id = NEW.market_day_id));
END
"""
_SQLITE_MARKET_DAY = """
CREATE TRIGGER market_day_orderable_until AFTER UPDATE OF cutoff_at ON market_day
WHEN NEW.cutoff_at > OLD.cutoff_at BEGIN
    UPDATE product SET orderable_until = NEW.cutoff_at
    WHERE id IN (SELECT product_id FROM offer WHERE market_day_id = NEW.id)
      AND (orderable_until IS NULL OR orderable_until < NEW.cutoff_at);
END
"""


def upgrade():
    op.add_column("product", sa.Column("orderable_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_product_active_orderable_until", "product", ["active", "orderable_until"])
    op.execute(_BACKFILL)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRESQL)
    else:
        op.execute(_SQLITE_OFFER.format(event="insert", clause="INSERT"))
        op.execute(_SQLITE_OFFER.format(event="update", clause="UPDATE OF market_day_id, product_id"))
        op.execute(_SQLITE_MARKET_DAY)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS offer_orderable_until ON offer")
        op.execute("DROP TRIGGER IF EXISTS market_day_orderable_until ON market_day")
        op.execute("DROP FUNCTION IF EXISTS aimak_offer_orderable_until()")
        op.execute("DROP FUNCTION IF EXISTS aimak_market_day_orderable_until()")
    else:
        for trigger in ("offer_orderable_until_insert", "offer_orderable_until_update", "market_day_orderable_until"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.drop_index("ix_product_active_orderable_until", table_name="product")
    op.drop_column("product", "orderable_until")
