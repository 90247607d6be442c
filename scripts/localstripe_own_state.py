#!/usr/bin/env python3
"""localstripe with a state of its own.

localstripe keeps its whole store in one fixed file, /tmp/localstripe.pickle, read at start
(unless --from-scratch) and rewritten on every change, by every instance on the machine: the
demo of one worktree loaded the intents of another's, or of a test run, whose metadata carry
the same order ids. This starts localstripe with the store kept in the file given by --state
(written whole, then renamed, so a crash never leaves half a file), or in memory only when
--state is empty (tests: nothing read, nothing written, nothing shared).

    python scripts/localstripe_own_state.py --port 8420 --state instance/localstripe/state.pickle
"""
from __future__ import annotations

import argparse
import os
import pickle
import sys
from pathlib import Path

from localstripe import resources, server


def keep_state_in(path: Path | None) -> None:
    """Make localstripe's store load from and save to `path` (None: memory only)."""

    def load(store: resources.Store) -> None:
        if path is None or not path.exists():
            return
        with path.open("rb") as f:
            old = pickle.load(f)
        store.clear()
        store.update(old)

    def save(store: resources.Store) -> None:
        if path is None:
            return
        partial = path.with_name(path.name + ".partial")
        with partial.open("wb") as f:
            pickle.dump(dict(store), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, path)

    resources.Store.try_load_from_disk = load
    resources.Store.dump_to_disk = save


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--state", default="", help="the store's file; empty keeps it in memory only")
    args = parser.parse_args(argv)
    path = Path(args.state).resolve() if args.state else None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    keep_state_in(path)
    # localstripe's own start(): it loads the store (ours now) unless told --from-scratch.
    sys.argv = [sys.argv[0], "--port", str(args.port)] + ([] if path else ["--from-scratch"])
    server.start()


if __name__ == "__main__":
    main(sys.argv[1:])
