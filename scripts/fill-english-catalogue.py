"""English is the source language: its catalogue says each message as written."""
import sys

from babel.messages.pofile import read_po, write_po

path = sys.argv[1]
with open(path, "rb") as handle:
    catalog = read_po(handle, locale="en")
for message in catalog:
    if not message.id:
        continue
    if isinstance(message.id, tuple):
        message.string = tuple(message.id[0] if i == 0 else message.id[1] for i in range(catalog.num_plurals))
    else:
        message.string = message.id
    message.flags.discard("fuzzy")
with open(path, "wb") as handle:
    write_po(handle, catalog, width=0, omit_header=False)
