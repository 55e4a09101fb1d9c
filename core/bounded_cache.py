"""A memo bounded in bytes, not in entries: hostile text (a million distinct long tokens) must not grow a worker
process that is reused across files. Keys longer than `max_key_len` are computed every time; when the next entry
would pass `max_bytes`, the memo starts over. Results never depend on it, only speed does."""

from __future__ import annotations

import sys
from typing import Callable


def tuple_of_strings_size(key: str, value: tuple[str, ...]) -> int:
    """Bytes a str key and its tuple of str take (the dict slot included)."""
    return sys.getsizeof(key) + sys.getsizeof(value) + sum(map(sys.getsizeof, value)) + 100


class ByteBoundedMemo:
    def __init__(self, fn: Callable, max_bytes: int, max_key_len: int, size_of: Callable = tuple_of_strings_size):
        self.fn, self.max_bytes, self.max_key_len, self.size_of = fn, max_bytes, max_key_len, size_of
        self.entries: dict = {}
        self.bytes = 0

    def __call__(self, key):
        value = self.entries.get(key)
        if value is not None:
            return value
        value = self.fn(key)
        if len(key) <= self.max_key_len:
            cost = self.size_of(key, value)
            if self.bytes + cost > self.max_bytes:
                self.entries.clear()
                self.bytes = 0
            self.entries[key] = value
            self.bytes += cost
        return value

    def map(self, keys: list) -> list:
        """[self(key) for key in keys], with the hits looked up at C speed (the word splitter's hot path)."""
        values = list(map(self.entries.get, keys))
        miss = -1
        while (miss := _index(values, None, miss + 1)) >= 0:  # list.index scans in C
            values[miss] = self(keys[miss])
        return values


def _index(values: list, value, start: int) -> int:
    try:
        return values.index(value, start)
    except ValueError:
        return -1
