"""URL converters: an id beyond a database integer is a 404, not an overflow error."""
from werkzeug.routing import IntegerConverter

#: PostgreSQL's INTEGER; SQLite raises OverflowError past 64 bits.
MAX_ID = 2_147_483_647


class BoundedIntConverter(IntegerConverter):
    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
