from __future__ import annotations

import numpy as np
import pandas as pd

from causalmix import BaseCache, CausalAugmenter, MemoryCache
from causalmix._store import ObjectStore, clear_memo, content_key


class CountingCache(MemoryCache):
    def __init__(self) -> None:
        super().__init__()
        self.gets = 0
        self.sets = 0

    def get(self, key: str) -> bytes | None:
        self.gets += 1
        return super().get(key)

    def set(self, key: str, value: bytes) -> None:
        self.sets += 1
        super().set(key, value)


def _data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    a = rng.normal(size=150)
    X = pd.DataFrame({"a": a, "b": a + rng.normal(size=150), "c": rng.choice(["x", "y"], 150)})
    return X, pd.Series(np.where(a > 0, 1, 0), name="t")


def test_content_key_depends_on_every_part() -> None:
    key = content_key("k", a=1, b=[1, 2])
    assert key == content_key("k", b=[1, 2], a=1)
    assert key != content_key("k", a=1, b=[2, 1])
    assert key != content_key("other", a=1, b=[1, 2])


def test_the_same_process_never_deserializes_twice() -> None:
    X, y = _data()
    cache = CountingCache()
    clear_memo()
    CausalAugmenter(cache=cache, n_bootstrap=2, n_dags=2).fit(X, y)
    assert cache.sets > 0
    gets_after_first = cache.gets
    second = CausalAugmenter(cache=cache, n_bootstrap=2, n_dags=2).fit(X, y)
    assert cache.gets == gets_after_first  # everything came from the memo
    assert second.cache_misses_ == {"discovery": 0, "mechanisms": 0}


def test_another_cache_still_receives_every_value() -> None:
    X, y = _data()
    first, other = CountingCache(), CountingCache()
    CausalAugmenter(cache=first, n_bootstrap=2, n_dags=2).fit(X, y)
    CausalAugmenter(cache=other, n_bootstrap=2, n_dags=2).fit(X, y)
    assert other.sets == first.sets > 0


def test_a_new_cache_never_inherits_a_freed_cache_namespace() -> None:
    # CPython reuses a freed object's id at once: an id-based namespace would repeat here, and
    # a new cache would take a dead one's memo entries instead of receiving the values.
    names = {MemoryCache().namespace for _ in range(50)}
    assert len(names) == 50


def test_store_counts_hits_and_misses() -> None:
    class Broken(BaseCache):
        def get(self, key: str) -> bytes | None:
            return b"not an int"

        def set(self, key: str, value: bytes) -> None:
            pass

    store = ObjectStore(Broken())
    value = store.get_or_compute("n", "key-1", lambda: 7, lambda v: str(v).encode(), int)
    assert value == 7 and store.misses == {"n": 1} and store.hits == {}
    assert store.get_or_compute("n", "key-1", lambda: 8, lambda v: b"", int) == 7  # memo
    assert store.hits == {"n": 1}
