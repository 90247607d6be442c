"""The pickup point on market day: find an order, hand it over, no-shows, labels; above orders and payments."""
