"""The HTTP edge every feature's views use: transactions, access decorators, request arguments, CSV, errors, headers, templating, page cache."""
