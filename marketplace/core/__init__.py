"""Pure domain helpers that know nothing of Flask or the database."""
