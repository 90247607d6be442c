"""How far a typed word is from a known one: what the search's typo correction compares.

The database finds candidates cheaply (trigram similarity: pg_trgm on PostgreSQL, an FTS5
trigram index on SQLite, and words with the same letters for a swap); these functions then
decide, the same way on both databases, which candidates are one slip of the finger away.
"""
from __future__ import annotations


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Letters wrong, missing, added or swapped with their neighbour to turn `a` into `b`
    (optimal string alignment); any distance above `limit` is returned as limit + 1."""
    if a == b:
        return 0
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, letter in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, other in enumerate(b, start=1):
            cost = 0 if letter == other else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and letter == b[j - 2] and a[i - 2] == other:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


def allowed_edits(word: str) -> int:
    """One slip in a word of up to seven letters, two in a longer one; none in a word of
    two letters (every other short word is one letter away)."""
    if len(word) < 3:
        return 0
    return 1 if len(word) < 8 else 2


def trigrams(word: str) -> set[str]:
    """The word's trigrams as pg_trgm counts them: two spaces before, one after."""
    padded = f"  {word} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


def similarity(a: str, b: str) -> float:
    """pg_trgm's similarity(): shared trigrams over all trigrams of the two words."""
    first, second = trigrams(a), trigrams(b)
    union = first | second
    return len(first & second) / len(union) if union else 0.0


def letters_key(word: str) -> str:
    """The word's letters in order: two words with a pair of letters swapped share it."""
    return "".join(sorted(word))
