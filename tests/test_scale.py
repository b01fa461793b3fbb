"""The Dask engine (xclz_geo.scale) on a local cluster of 2 worker processes, against the in-memory path.

Data: the SYNTHETIC province of xclz_geo.scale.sample (200 zones, 691 parts, quality ``synthetic``),
points with bad rows and parcels generated here from fixed seeds: 40,000 points and 4,000 parcels in
the quick tests, the issue's 200,000 points and 20,000 parcels in ``test_full_size_identical``
(marked ``slow``: about three minutes on a loaded 2-core machine). The cluster binds
to 127.0.0.1 and has no dashboard; nothing touches the network.
"""

from __future__ import annotations

import json
import os
import signal
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
dask_geopandas = pytest.importorskip("dask_geopandas")

import geopandas as gpd  # noqa: E402

from xclz_geo.boundaries.zone import Zone  # noqa: E402
from xclz_geo.geo.locate import XCLZ_COLUMNS, locate_annotated  # noqa: E402
from xclz_geo.scale import engine, sample  # noqa: E402
from xclz_geo.scale.engine import PARCEL_COLUMNS, landuse_dask, locate_dask  # noqa: E402
from xclz_geo.scale.partition import geohash_keys, hilbert_keys  # noqa: E402

N_POINTS = 40_000
N_PARCELS = 4_000
#: the sizes of the issue (test_full_size_identical, marked slow)
FULL_POINTS = 200_000
FULL_PARCELS = 20_000


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                           host="127.0.0.1", memory_limit="2GiB")
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    d = tmp_path_factory.mktemp("province")
    parts = sample.synthetic_province_zones()
    f = d / "zones.gpkg"
    parts.to_file(f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zone = Zone.from_boundaries(f)
    return {"dir": d, "file": f, "zone": zone, "parts": parts}


@pytest.fixture(scope="module")
def points(province):
    d = province["dir"]
    pts = sample.synthetic_points(province["parts"], N_POINTS, bad_every=1_000)
    sample.write_partitions(pts, d / "points", npartitions=8)
    return {"df": pts, "dir": d / "points"}


@pytest.fixture(scope="module")
def points_reference(province, points):
    return locate_annotated(province["zone"], points["df"], with_distance=True)


def _same(a: pd.Series, b: pd.Series) -> list:
    """Positions where two columns differ (None/NaN equal; numbers compared exactly)."""
    va = a.astype(object).where(a.notna(), None).tolist()
    vb = b.astype(object).where(b.notna(), None).tolist()
    return [(i, x, y) for i, (x, y) in enumerate(zip(va, vb)) if x != y]


def _assert_identical(out: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert list(out.columns) == list(ref.columns)
    assert len(out) == len(ref)
    for c in ref.columns:
        diff = _same(out[c].reset_index(drop=True), ref[c].reset_index(drop=True))
        assert not diff, f"{c}: {len(diff)} rows differ, first {diff[:3]}"


# ------------------------------------------------------------------ many zones


def test_province_sample_is_many_zones_and_labelled_synthetic(province):
    zone = province["zone"]
    assert zone.zone_count == 200 and len(zone.part_ids) == len(province["parts"]) > 400
    assert set(zone.parts["quality"]) == {"synthetic"} and zone.spec is None
    assert zone.zone_ids[0] == "Z001" and zone.parts["zone_id"].nunique() == 200


# ------------------------------------------------------------------ site checks


def test_locate_dask_identical_row_by_row(client, province, points, points_reference):
    job = locate_dask(province["zone"], points["dir"], with_distance=True)
    assert job.npartitions == 8 and job.skipped == 0 and "distances" in job.pruning
    out = job.frame.compute()
    _assert_identical(out, points_reference)
    assert list(out.index) == list(range(N_POINTS))  # rows numbered over the whole input, in order
    counts = out["xclz_status"].value_counts()
    assert counts["inside"] > 200 and counts["uncertain"] > 50 and counts["invalid"] == N_POINTS // 1_000
    inside = out[out["xclz_status"] == "inside"]
    assert (inside["xclz_zone"] == inside["xclz_part"].str[:4]).all()  # zone, block and part named
    # the zone was unpickled and its grid built once per worker process, not once per partition
    builds = client.run(engine.worker_builds)
    assert len(builds) == 2 and all(b["zones"] == 1 and b["grids"] == 1 for b in builds.values()), builds


def test_worker_killed_mid_run_does_not_change_the_result(client, province, points, points_reference, tmp_path):
    # 16 partitions so tasks are still in flight when one worker process dies
    sample.write_partitions(points["df"], tmp_path / "pts16", npartitions=16)
    job = locate_dask(province["zone"], tmp_path / "pts16", with_distance=True)
    fut = client.compute(job.frame)
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and time.monotonic() < deadline:
        processing = {w: ts for w, ts in client.processing().items() if ts}
        if processing and not fut.done():
            victim = sorted(processing)[0]
        else:
            time.sleep(0.05)
    assert victim is not None, "no task was in flight"
    old_pid = client.run(os.getpid, workers=[victim])[victim]
    os.kill(old_pid, signal.SIGKILL)  # the test kills its own worker process
    out = fut.result(timeout=300)
    assert not fut.cancelled()
    pids = client.run(os.getpid)
    assert old_pid not in pids.values()  # the worker process really died (the nanny started another)
    _assert_identical(out, points_reference)


def test_bad_rows_and_a_bad_partition_come_out_invalid(client, province, tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    pd.DataFrame({"lon": ["118.9", "", "abc", "118.9", "200"], "lat": ["30.9", "30.9", "30.9", "95", "30.9"]}).to_csv(
        d / "a.csv", index=False)
    # a file whose coordinate columns are named otherwise: the whole partition is invalid, the job goes on
    pd.DataFrame({"spalte_a": ["1"], "spalte_b": ["2"]}).to_csv(d / "b.csv", index=False)
    job = locate_dask(province["zone"], d / "*.csv", with_distance=False)
    out = job.frame.compute()
    assert len(out) == 6
    st = out["xclz_status"].tolist()
    assert st[0] in ("outside", "inside", "uncertain") and st[1:] == ["invalid"] * 5
    notes = out["xclz_note"].tolist()
    assert "blank" in notes[1] and "not a number" in notes[2] and "95" in notes[3] and "200" in notes[4]
    assert notes[5].startswith("partition not processed")
    ref = locate_annotated(province["zone"], pd.read_csv(d / "a.csv", dtype=str, keep_default_na=False), with_distance=False)
    _assert_identical(out.iloc[:5][list(ref.columns)], ref)


# ------------------------------------------------------------------ pruning


def test_pruning_skips_the_partitions_that_touch_no_zone(client, province, tmp_path):
    rng = np.random.default_rng(3)
    near = sample.synthetic_points(province["parts"], 4_000, near_share=1.0, bad_every=0)
    near = near.astype({"lon": float, "lat": float})
    far = pd.DataFrame({"id": np.arange(4_000, 10_000), "lon": rng.uniform(100.0, 104.0, 6_000),
                        "lat": rng.uniform(24.0, 26.0, 6_000)})  # Yunnan: no zone there
    far.loc[4_100, "lat"] = np.nan  # a bad row in a skipped partition is still invalid
    d = tmp_path / "pruned"
    sample.write_partitions(near, d, npartitions=2, stem="a")
    sample.write_partitions(far, d, npartitions=3, stem="b")
    job = locate_dask(province["zone"], d, with_distance=False)
    assert job.npartitions == 5 and job.skipped == 3 and "3 of 5" in job.pruning
    out = job.frame.compute()
    ref = locate_annotated(province["zone"], pd.concat([near, far], ignore_index=True), with_distance=False)
    _assert_identical(out, ref)
    assert (out["xclz_status"].iloc[4_000:] != "inside").all() and out["xclz_status"].iloc[4_000 + 4_100] == "invalid"
    # distances need every point: nothing is skipped
    assert locate_dask(province["zone"], d, with_distance=True).skipped == 0
    # GeoParquet input: bounds from the files' bbox metadata; dask-geopandas: from spatial_partitions
    g = gpd.GeoDataFrame(far, geometry=gpd.points_from_xy(far["lon"], far["lat"]), crs="EPSG:4326")
    g.loc[4_100, "geometry"] = None  # missing geometry (dask-geopandas cannot hull a NaN point)
    sample.write_partitions(g, tmp_path / "geo", npartitions=2)
    assert locate_dask(province["zone"], tmp_path / "geo", with_distance=False).skipped == 2
    dg = dask_geopandas.from_geopandas(g, npartitions=2)
    dg.calculate_spatial_partitions()
    jg = locate_dask(province["zone"], dg, with_distance=False)
    assert jg.skipped == 2
    out_g = jg.frame.compute()
    _assert_identical(out_g, locate_annotated(province["zone"], g, with_distance=False))
    assert out_g["xclz_status"].iloc[4_100] == "invalid" and out_g["xclz_note"].iloc[4_100] == "geometry is empty"


def test_national_extent_parcels_in_hilbert_files_skip_most_overlays(client, province, tmp_path):
    """The case where pruning fires: one province's zones against parcels spread over China, Hilbert-partitioned."""
    from xclz_geo.landuse.overlay import landuse_by_part
    from xclz_geo.scale.partition import partition_file

    parcels = sample.synthetic_parcels(province["parts"], 3_000, near_share=0.1, bbox=sample.NATIONAL_BBOX)
    x0, y0, x1, y1 = parcels.total_bounds
    assert x1 - x0 > 40 and y1 - y0 > 25  # national extent, not the province's box
    parcels.loc[17, "geometry"] = None
    sample.write_partitions(parcels, tmp_path / "raw", npartitions=2)
    partition_file(tmp_path / "raw", tmp_path / "hilbert", npartitions=20)
    job = landuse_dask(province["zone"], tmp_path / "hilbert")
    assert job.npartitions == 20 and job.skipped >= 12, job.pruning
    out = job.frame.compute()
    layer = pd.concat([gpd.read_parquet(f) for f in sorted((tmp_path / "hilbert").glob("part.*.parquet"))], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = landuse_by_part(province["zone"], layer).parcels
    for c in ("row", "code", "code_status", "zone_id", "part_ids", "status"):
        assert not _same(out[c].reset_index(drop=True), ref[c]), c
    np.testing.assert_allclose(out["inside_m2"].to_numpy(float), ref["inside_m2"].to_numpy(float), rtol=1e-9, atol=1e-6)
    assert (out["status"] == "no geometry").sum() == 1 and (out["status"] == "inside").sum() > 50


def test_partition_keys_keep_neighbours_together():
    # a 4 × 4 grid: the Hilbert order visits each cell once and steps only to an adjacent cell
    xs, ys = np.meshgrid(np.arange(4.0), np.arange(4.0))
    k = hilbert_keys(xs.ravel(), ys.ravel(), (0, 0, 3, 3), bits=2)
    assert sorted(k) == list(range(16))
    order = np.argsort(k)
    steps = np.abs(np.diff(xs.ravel()[order])) + np.abs(np.diff(ys.ravel()[order]))
    assert (steps == 1).all()
    g = geohash_keys(np.array([119.0, 119.0001, -70.0, np.nan]), np.array([30.9, 30.9001, -30.0, 1.0]))
    assert abs(int(g[0]) - int(g[1])) < abs(int(g[0]) - int(g[2])) and g[3] == np.iinfo(np.int64).max


# ------------------------------------------------------------------ parcels


def _check_landuse(zone, tmp_path, n):
    from xclz_geo.landuse.overlay import landuse_by_part

    parcels = sample.synthetic_parcels(zone.parts, n)
    parcels.loc[5, "geometry"] = None  # a parcel without geometry is reported, not dropped
    sample.write_partitions(parcels, tmp_path / "parcels", npartitions=4)
    job = landuse_dask(zone, tmp_path / "parcels")
    assert job.extra["scheme"] == "sandiao" and job.extra["rows"] == n
    out = job.frame.compute()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = landuse_by_part(zone, parcels).parcels
    assert list(out.columns) == list(PARCEL_COLUMNS) == list(ref.columns)
    for c in ("row", "code_in", "code", "code_status", "name", "zone_id", "part_ids", "status"):
        assert not _same(out[c].reset_index(drop=True), ref[c]), c
    np.testing.assert_allclose(out["area_m2"].to_numpy(float), ref["area_m2"].to_numpy(float), rtol=1e-12)
    np.testing.assert_allclose(out["inside_m2"].to_numpy(float), ref["inside_m2"].to_numpy(float), rtol=1e-9, atol=1e-6)
    assert out["status"].iloc[5] == "no geometry"
    hit = out[out["status"] == "inside"]
    assert len(hit) > n // 20 and (hit["zone_id"] == hit["part_ids"].str[:4]).all()


def test_landuse_dask_identical_to_landuse_by_part(client, province, tmp_path):
    _check_landuse(province["zone"], tmp_path, N_PARCELS)


@pytest.mark.slow
def test_full_size_identical(client, province, tmp_path):
    """The issue's sizes: 200,000 points and 20,000 parcels, row by row against the in-memory path."""
    pts = sample.synthetic_points(province["parts"], FULL_POINTS, bad_every=5_000, seed=21)
    sample.write_partitions(pts, tmp_path / "pts", npartitions=8)
    out = locate_dask(province["zone"], tmp_path / "pts", with_distance=True).frame.compute()
    _assert_identical(out, locate_annotated(province["zone"], pts, with_distance=True))
    _check_landuse(province["zone"], tmp_path, FULL_PARCELS)


def test_local_cluster_starts_when_port_8787_is_taken():
    """Another Dask cluster (or anything) on the default dashboard port must not stop ours from starting."""
    import io
    import socket

    from xclz_geo.scale.cluster import cluster_client

    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        try:
            holder.bind(("127.0.0.1", 8787))
            holder.listen(1)
        except OSError:
            pass  # already held by someone else: the situation under test
        log = io.StringIO()
        with cluster_client(n_workers=1, memory_limit="1GiB", log=log) as c:
            assert c.submit(sum, [1, 2, 3]).result() == 6
        assert "local cluster tcp://127.0.0.1:" in log.getvalue()
    finally:
        holder.close()


# ------------------------------------------------------------------ CLI


def test_cli_locate_engine_dask_end_to_end(client, province, points, tmp_path, capsys):
    from xclz_geo.cli.main import main

    out = tmp_path / "located"
    code = main(["locate", "--input", str(points["dir"] / "part.*.parquet"), "--engine", "dask", "--out", str(out),
                 "--scheduler", client.scheduler.address, "--boundaries", str(province["file"]), "--no-distance", "--json"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    summary = json.loads(cap.out)
    assert summary["rows"] == N_POINTS and summary["partitions"] == 8 and summary["zones"] == 200
    files = sorted(out.glob("part.*.parquet"))
    assert len(files) == 8 and not (out / ".partial").exists()
    back = pd.concat([gpd.read_parquet(f) for f in files], ignore_index=True)
    assert back.crs.to_epsg() == 4326 and list(back.columns) == ["id", "lon", "lat", *XCLZ_COLUMNS, "geometry"]
    assert back["id"].tolist() == list(range(N_POINTS))  # every input row, in order
    assert (back["xclz_status"] == "invalid").sum() == summary["counts"]["invalid"] == N_POINTS // 1_000
    assert back.geometry[back["xclz_status"] == "invalid"].isna().all()


def test_cli_partition_then_landuse_on_a_local_cluster(province, tmp_path, capsys):
    from xclz_geo.cli.main import main

    parcels = sample.synthetic_parcels(province["parts"], 3_000, seed=5)
    parcels.to_parquet(tmp_path / "parcels.parquet")
    code = main(["partition", "--input", str(tmp_path / "parcels.parquet"), "--out", str(tmp_path / "p"),
                 "--npartitions", "6", "--json"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert json.loads(cap.out)["format"] == "GeoParquet" and len(list((tmp_path / "p").glob("part.*"))) == 6
    # no --scheduler: a local cluster starts and stops by itself, and says where its dashboard is (or why none)
    code = main(["landuse", "--parcels", str(tmp_path / "p"), "--engine", "dask", "--out", str(tmp_path / "lu"),
                 "--boundaries", str(province["file"]), "--json"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert "local cluster tcp://127.0.0.1:" in cap.err and "memory limit" in cap.err
    assert ("dashboard http" in cap.err) or ("no dashboard (bokeh is not installed" in cap.err)
    summary = json.loads(cap.out)
    assert summary["rows"] == 3_000 and sum(summary["counts"].values()) == 3_000
    back = pd.concat([gpd.read_parquet(f) for f in sorted((tmp_path / "lu").glob("part.*.parquet"))])
    assert sorted(back["row"]) == list(range(3_000)) and set(back["status"]) <= {"inside", "partly inside", "outside the zone"}
    # a bad option is one line and exit 2, never a traceback
    code = main(["landuse", "--parcels", str(tmp_path / "p"), "--engine", "dask", "--out", str(tmp_path / "x.csv"),
                 "--boundaries", str(province["file"])])
    assert code == 2 and "is a folder" in capsys.readouterr().err
