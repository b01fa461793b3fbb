"""The on-disk cache (xclz_geo.geo.cache): location, atomic entries, corrupt entries ignored."""

from __future__ import annotations

import numpy as np

from xclz_geo.geo import cache


def test_cache_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("XCLZ_GEO_CACHE", str(tmp_path / "c"))
    assert cache.cache_dir() == tmp_path / "c"
    for off in ("off", "OFF", "0", "false"):
        monkeypatch.setenv("XCLZ_GEO_CACHE", off)
        assert cache.cache_dir() is None
    monkeypatch.delenv("XCLZ_GEO_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "xclz_geo"


def test_store_and_load_round_trip_memory_mapped(monkeypatch, tmp_path):
    monkeypatch.setenv("XCLZ_GEO_CACHE", str(tmp_path))
    key = cache.entry_key("test", "a", "b")
    assert key != cache.entry_key("test", "a", "c")
    a = np.arange(10, dtype=np.int32)
    assert cache.store_entry(key, {"x": "水"}, {"a": a})
    meta, arrays = cache.load_entry(key)
    assert meta["x"] == "水"
    assert isinstance(arrays["a"], np.memmap)
    assert np.array_equal(arrays["a"], a)
    # a second writer of the same key: the first entry stays, no error, no temporary folder left
    assert cache.store_entry(key, {"x": "other"}, {"a": a})
    assert cache.load_entry(key)[0]["x"] == "水"
    assert [p.name for p in tmp_path.iterdir()] == [key]


def test_corrupt_entry_is_ignored_and_removed(monkeypatch, tmp_path):
    monkeypatch.setenv("XCLZ_GEO_CACHE", str(tmp_path))
    key = cache.entry_key("test", "corrupt")
    cache.store_entry(key, {}, {"a": np.zeros(3)})
    (tmp_path / key / "meta.json").write_text("{not json", encoding="utf-8")
    assert cache.load_entry(key) is None
    assert not (tmp_path / key).exists()
    assert cache.store_entry(key, {}, {"a": np.ones(3)})
    assert cache.load_entry(key)[1]["a"].sum() == 3
    # an entry of another format version is not read
    meta = (tmp_path / key / "meta.json").read_text(encoding="utf-8").replace('"format": 1', '"format": 999')
    (tmp_path / key / "meta.json").write_text(meta, encoding="utf-8")
    assert cache.load_entry(key) is None


def test_cache_off_stores_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("XCLZ_GEO_CACHE", "off")
    assert not cache.store_entry("k", {}, {"a": np.zeros(1)})
    assert cache.load_entry("k") is None


def test_clear_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XCLZ_GEO_CACHE", str(tmp_path))
    cache.store_entry(cache.entry_key("t", "1"), {}, {})
    cache.store_entry(cache.entry_key("t", "2"), {}, {})
    assert cache.clear_cache() == 2
    assert list(tmp_path.iterdir()) == []


def test_load_valid_builds_or_discards_a_damaged_entry(monkeypatch, tmp_path):
    import pytest

    monkeypatch.setenv("XCLZ_GEO_CACHE", str(tmp_path))
    key = cache.entry_key("test", "valid")
    assert cache.load_valid(key, lambda meta, arrays: 1) is None  # absent
    cache.store_entry(key, {"n": 3}, {"a": np.arange(3)})
    assert cache.load_valid(key, lambda meta, arrays: int(arrays["a"].sum()) + meta["n"]) == 6

    def damaged(meta, arrays):
        raise ValueError("entry")

    with pytest.raises(ValueError):  # an error the caller did not name is not swallowed, the entry stays
        cache.load_valid(key, damaged, errors=KeyError)
    assert (tmp_path / key).exists()
    assert cache.load_valid(key, damaged, errors=(KeyError, ValueError)) is None
    assert not (tmp_path / key).exists()  # removed: the next writer replaces it
