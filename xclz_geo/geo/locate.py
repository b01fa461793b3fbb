"""Site checks: is a point, or a whole table of points, inside the zone — in any Chinese datum.

Two entry points:

* :func:`locate` for a single ``(lon, lat)``, arrays, DataFrames and GeoDataFrames:
  returns a DataFrame with one row per input row (same index, same order) and the
  columns ``status``, ``zone_id``, ``block_id``, ``part_id``, ``distance_m``, ``quality``, ``note``.
* :func:`locate_xy` for numbers already in arrays: returns a :class:`LocateResult` of
  numpy arrays (status codes, part index, optional distance). The table and file paths
  use it.

**Statuses.**

``inside``
    The point is covered by a part polygon (``part_id``/``block_id`` name it) and lies
    farther than that part's ``positional_uncertainty_m`` from every part boundary.
``outside``
    Covered by no part and farther than each part's uncertainty from its boundary.
``uncertain``
    Within a part's ``positional_uncertainty_m`` of that part's boundary, inside or
    outside the drawn polygon: with schematic boundaries (uncertain by hundreds of
    metres) the honest answer near an edge. ``part_id``/``block_id`` name the part whose
    boundary is near (the covering part when the point lies inside one); the sign of
    ``distance_m`` says on which side of the drawn line the point is. Official
    boundaries have ``positional_uncertainty_m = 0`` and never give ``uncertain``.
``invalid``
    The coordinates are missing, not numbers, out of range (latitude beyond ±90°) or
    outside China for a GCJ-02/BD-09 tag; ``note`` says which. Such rows are kept.

**On the boundary.** A point exactly on a part boundary is *inside* (covers semantics,
``shapely.intersects_xy``, not ``contains_xy``): a site on the red line belongs to the
zone. If parts overlap, the first part in zone order wins.

**Distances** (``distance_m``, when asked) are exact planar distances in the zone's
CGCS2000 Gauss-Krüger CRS to the nearest part boundary (holes included), positive
inside a part polygon and negative outside.

**Speed.** Status and part come from a cached lookup grid (:mod:`xclz_geo.geo.grid`):
one array lookup per point, a second one in the grid's refinement for points near a
boundary, the exact predicate only for points very near a boundary or the edge of an
uncertainty band, identical answers to the exact predicate. The grid lookup runs in the compiled
kernel :mod:`xclz_geo.geo._lookup` when it is built (one pass per point, the GIL released; :data:`KERNEL`
says ``"c"``, ``XCLZ_GEO_KERNEL=numpy`` forces the numpy passes, which give the same answers). Large
batches run on a thread pool (the kernel, numpy and GEOS release the GIL), each thread with its own
prepared geometries; how many threads is a function of the batch size (:func:`choose_threads`).

**Datums.** ``datum="wgs84"`` (default; ``cgcs2000`` is treated as WGS84, they differ
by centimetres here), ``"gcj02"`` (Amap/Gaode, Tencent) or ``"bd09"`` (Baidu) for
lon/lat; ``crs="EPSG:4549"`` (or any CRS) for projected coordinates. GCJ-02/BD-09
points are converted with the exact iterative inverses of :mod:`xclz_geo.geo.crs`, and
only where needed (points near a boundary, or every point when distances are asked).
"""

from __future__ import annotations

import itertools
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from xclz_geo import _results
from xclz_geo.geo import crs as _crs
from xclz_geo.errors import InputDataError
from xclz_geo.geo.grid import (INSIDE, INVALID, OUTSIDE, PACKED_EXACT, PACKED_SHIFT, UNCERTAIN, Frame, LocateGrid, all_rings,
                   build_grid, make_frame)

#: status labels by code
STATUS_LABELS = ("outside", "inside", "uncertain", "invalid")


def _load_kernel() -> Any:
    """The compiled lookup kernel (:mod:`xclz_geo.geo._lookup`), or ``None``: not built, or
    ``XCLZ_GEO_KERNEL=numpy`` in the environment."""
    if os.environ.get("XCLZ_GEO_KERNEL", "").strip().lower() == "numpy":
        return None
    try:
        from xclz_geo.geo import _lookup
    except ImportError:  # installed without a C compiler: the numpy path
        return None
    return _lookup


_CKERNEL = _load_kernel()
#: the lookup kernel in use: ``"c"`` (the compiled single-pass kernel :mod:`xclz_geo.geo._lookup`, built
#: when the package was installed with a C compiler) or ``"numpy"`` (the numpy passes; forced with the
#: environment variable ``XCLZ_GEO_KERNEL=numpy``). Both give identical answers. Setting this to
#: ``"numpy"`` at run time switches to the numpy path; ``"c"`` takes effect only when the kernel is built.
KERNEL = "c" if _CKERNEL is not None else "numpy"
#: each thread of the pool gets at least this many points: batches up to twice this run on the calling
#: thread alone (:func:`choose_threads`). Measured on the 2-core machines (idle, best of 5, 10⁷ points,
#: 2 threads vs 1): 1.3–1.7×; at 10⁶ points 1.0–1.2× idle and 0.96× with another process on the second
#: core, so batches of up to 2·10⁶ points stay on one thread (issue 18: never slower at 10⁶)
PARALLEL_MIN_POINTS = 1_000_000
#: chunk size of the threaded path when distances are computed
CHUNK_POINTS = 1 << 20
#: kept for callers of the previous chunked status path (no longer used: the status path hands out
#: blocks of :data:`PARALLEL_BLOCK_POINTS` to the threads one at a time, see :func:`_status_worker`)
STATUS_CHUNK_POINTS = 2_500_000

# reasons of invalid rows (index = code stored in LocateResult.reason)
R_OK, R_MISSING, R_LAT, R_LON, R_CHINA, R_TRANSFORM, R_BLANK, R_TEXT, R_NOT_POINT, R_EMPTY = range(10)
REASONS = (
    "",
    "coordinate missing or not a finite number",
    "latitude out of range [-90, 90]",
    "longitude out of range [-180, 180]",
    "outside China: {datum} coordinates exist only in China (wrong datum tag, or x and y swapped?)",
    "cannot be transformed to the zone's CRS",
    "coordinate is blank",
    "coordinate is not a number",
    "geometry is not a point (give points, e.g. centroids)",
    "geometry is empty",
)

#: candidate column names, lowercase, best first
X_NAMES = ("lon", "lng", "long", "longitude", "经度", "x", "lon_wgs84", "lng_wgs84", "longitude_wgs84", "east", "easting", "东经", "x坐标", "横坐标")
Y_NAMES = ("lat", "latitude", "纬度", "y", "lat_wgs84", "latitude_wgs84", "north", "northing", "北纬", "y坐标", "纵坐标")


# ------------------------------------------------------------------ result


@dataclass
class LocateResult:
    """Vectorised answer of :func:`locate_xy` (one entry per input point).

    The common result shape: :attr:`table` (the :func:`locate` DataFrame), :attr:`summary`
    (``quality``, counts, provenance), :meth:`to_dict` and :attr:`layer` (points in EPSG:4326).

    Attributes
    ----------
    status
        ``uint8`` codes: 0 outside, 1 inside, 2 uncertain, 3 invalid (labels: :data:`STATUS_LABELS`).
    part_index
        ``int32`` index into :attr:`part_ids` (-1: no part).
    part_ids, block_ids, part_names_zh
        Per part of the zone, in zone order.
    distance_m
        Signed distance to the nearest part boundary in metres (positive inside), ``NaN`` for
        invalid points; ``None`` when not asked for.
    reason
        ``uint8`` reason codes of invalid points (0 for valid ones; texts in :data:`REASONS`).
    datum
        Datum tag or CRS label of the input.
    quality
        Worst quality label of the zone's geometry (``schematic`` …), carried into results.
    part_qualities
        Quality label per part, in zone order (empty when unknown).
    x, y, frame
        The input coordinates as located and the :class:`~xclz_geo.geo.grid.Frame` they were
        given in (for :attr:`layer`; ``None`` when built by hand).
    row_notes, index
        Per-row notes and the input index of :func:`locate_table` (``None`` from :func:`locate_xy`:
        :meth:`notes` then gives the notes).
    """

    status: np.ndarray
    part_index: np.ndarray
    part_ids: tuple[str, ...]
    block_ids: tuple[str, ...]
    part_names_zh: tuple[str, ...]
    distance_m: np.ndarray | None
    reason: np.ndarray
    datum: str
    quality: str | None = None
    part_qualities: tuple[str, ...] = ()
    x: np.ndarray | None = None
    y: np.ndarray | None = None
    frame: Frame | None = None
    row_notes: np.ndarray | None = None
    index: Any = None
    #: zone id per part, in zone order (many-zone boundaries files; empty when unknown)
    zone_ids: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.status.shape[0])

    def __iter__(self) -> Any:
        # ``res, notes = locate_table(…)``: the tuple locate_table returned before it returned this result
        _results.warn_renamed("res, notes = locate_table(…)", "res = locate_table(…); res.table / res.row_notes")
        return iter((self, self.row_notes if self.row_notes is not None else self.notes()))

    @property
    def table(self) -> "Any":
        """One row per point (the :func:`locate` DataFrame: ``status``, ``block_id``, ``part_id``,
        ``distance_m``, ``quality``, ``note``), with the input's index when from :func:`locate_table`."""
        return result_frame(self, index=self.index, notes=self.row_notes)

    @property
    def summary(self) -> dict[str, Any]:
        """JSON-able: ``quality`` (the zone's worst label), ``counts`` per status, ``datum``,
        ``with_distance`` and ``provenance`` (how the answer was found)."""
        return {
            "quality": self.quality,
            "quality_by_part": dict(zip(self.part_ids, self.part_qualities)) if self.part_qualities else {},
            "counts": self.counts(),
            "points": len(self),
            "datum": self.datum,
            "with_distance": self.distance_m is not None,
            "provenance": {
                "method": "lookup grid in the zone's Gauss-Krüger CRS; exact test near part boundaries",
                "datum": self.datum,
                "frame": self.frame.label() if self.frame is not None else self.datum,
                "parts": list(self.part_ids),
            },
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable ``{"summary": …, "rows": [one dict per point]}`` (for small batches)."""
        return {"summary": _results.jsonable(self.summary), "rows": _results.jsonable(self.table.reset_index(drop=True))}

    @property
    def layer(self) -> "Any":
        """The points with :attr:`table`'s columns as a GeoDataFrame in WGS84 (EPSG:4326), converted
        from the datum or CRS they were given in; invalid points keep an empty geometry (none dropped)."""
        import geopandas as gpd

        if self.x is None or self.y is None:
            raise InputDataError("this LocateResult has no input coordinates (build it with locate_xy or locate_table)")
        geom = wgs84_points(self.frame or make_frame(datum=self.datum), self.x, self.y, self.status != INVALID)
        return gpd.GeoDataFrame(self.table, geometry=list(geom), crs="EPSG:4326")

    @property
    def status_labels(self) -> np.ndarray:
        """Status as an object array of labels."""
        return np.asarray(STATUS_LABELS, dtype=object)[self.status]

    def _lookup(self, values: Sequence[str]) -> np.ndarray:
        table = np.asarray(list(values) + [None], dtype=object)
        return table[np.where(self.part_index >= 0, self.part_index, len(values))]

    @property
    def part_id(self) -> np.ndarray:
        """Part id per point (``None`` where no part)."""
        return self._lookup(self.part_ids)

    @property
    def zone_id(self) -> np.ndarray:
        """Zone id per point (``None`` where no part, or when the zone ids are unknown)."""
        if len(self.zone_ids) != len(self.part_ids):
            return np.full(len(self), None, dtype=object)
        return self._lookup(self.zone_ids)

    @property
    def block_id(self) -> np.ndarray:
        """Block id per point (``None`` where no part)."""
        return self._lookup(self.block_ids)

    @property
    def row_quality(self) -> np.ndarray:
        """Quality label of the boundary each point's answer rests on (the ``xclz_quality`` column).

        ``inside`` and ``uncertain``: the label of the part named (the part the point falls
        in, or whose boundary it is near). ``outside``: the point lies in none of the parts,
        an answer only as good as the least reliable part, so the zone's worst label
        (:attr:`quality`). ``invalid``: ``None`` (no boundary was consulted).
        """
        n = len(self)
        out = np.full(n, self.quality, dtype=object)
        if self.part_qualities and len(self.part_qualities) == len(self.part_ids):
            named = self.part_index >= 0
            table = np.asarray(list(self.part_qualities), dtype=object)
            out[named] = table[self.part_index[named]]
        out[self.status == INVALID] = None
        return out

    def notes(self) -> np.ndarray:
        """Reason text per point (empty for valid points)."""
        texts = np.asarray([r.format(datum=self.datum) for r in REASONS], dtype=object)
        return texts[self.reason]

    def counts(self) -> dict[str, int]:
        """Number of points per status label."""
        c = np.bincount(self.status, minlength=4)
        return {label: int(c[i]) for i, label in enumerate(STATUS_LABELS)}


# ------------------------------------------------------------------ core


_EXECUTOR: ThreadPoolExecutor | None = None
_EXECUTOR_LOCK = threading.Lock()


def _executor(threads: int) -> ThreadPoolExecutor:
    global _EXECUTOR
    with _EXECUTOR_LOCK:
        if _EXECUTOR is None or _EXECUTOR._max_workers < threads:  # type: ignore[attr-defined]
            if _EXECUTOR is not None:
                _EXECUTOR.shutdown(wait=True)
            _EXECUTOR = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="xclz-locate")
        return _EXECUTOR


def default_threads() -> int:
    """Threads used for large batches: the usable CPU cores (at most 8)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


def choose_threads(n_points: int, *, cores: int | None = None) -> int:
    """Threads for a status-and-part batch of ``n_points``: a pure function of the batch size and the cores.

    One thread per :data:`PARALLEL_MIN_POINTS` points, at most ``cores`` (default
    :func:`default_threads`), at least one: below ``2 * PARALLEL_MIN_POINTS`` points the batch runs
    on the calling thread alone. A second thread costs a wake-up, its own prepared geometries and
    scratch buffers and a second exact stage (tens to hundreds of microseconds); with fewer points
    than that it can only lose, and on a core another process holds it could lose more (the blocks
    are handed out one at a time, so a held-up thread takes fewer of them, but not none).

    Parameters
    ----------
    n_points
        Points in the batch.
    cores
        Upper bound (the ``threads=`` a caller gave, or the usable cores).

    Returns
    -------
    int
        Between 1 and ``cores``.
    """
    cap = default_threads() if cores is None else max(1, int(cores))
    return int(max(1, min(cap, int(n_points) // max(1, int(PARALLEL_MIN_POINTS)))))


def _validate(frame: Frame, fx: np.ndarray, fy: np.ndarray) -> np.ndarray | None:
    """Reason codes for each point, or ``None`` when every point is valid (the fast path)."""
    if frame.datum in ("gcj02", "bd09"):
        b = _crs.CHINA_BBOX
        ok = (fx >= b[0]) & (fx <= b[2]) & (fy >= b[1]) & (fy <= b[3])
    elif frame.is_lonlat:
        ok = np.abs(fy) <= 90.0
        ok &= np.abs(fx) <= 180.0
    else:
        ok = np.isfinite(fx)
        ok &= np.isfinite(fy)
    if ok.all():
        return None
    reason = np.zeros(fx.shape, dtype=np.uint8)
    bad = ~ok
    finite = np.isfinite(fx) & np.isfinite(fy)
    reason[bad] = R_MISSING
    if frame.is_lonlat:
        reason[bad & finite & (np.abs(fx) > 180.0)] = R_LON
        reason[bad & finite & (np.abs(fy) > 90.0)] = R_LAT
        if frame.datum in ("gcj02", "bd09"):
            reason[bad & finite & (np.abs(fx) <= 180.0) & (np.abs(fy) <= 90.0)] = R_CHINA
    return reason


def _exact(grid: LocateGrid, gx: np.ndarray, gy: np.ndarray, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact status, part and coverage of points (GK) whose cells are not settled.

    ``cand`` is the candidate part per point (-2: test every part).
    """
    import shapely

    geoms = grid.geometries()
    n = gx.shape[0]
    ins = np.full(n, -1, dtype=np.int32)
    unc = np.full(n, -1, dtype=np.int32)
    multi = cand == -2
    any_multi = bool(multi.any())
    # many parts (a province's zones): visit only the parts some point can select — a candidate
    # part, or a part whose box reaches the box of the points that test every part
    named = np.zeros(len(grid.parts) + 1, dtype=bool)
    named[cand[cand >= 0]] = True
    if any_multi:
        mx, my = gx[multi], gy[multi]
        mbox = (float(mx.min()), float(my.min()), float(mx.max()), float(my.max()))
    for p in grid.parts:
        if not p.has_geometry:
            continue
        if not named[p.index]:
            if not any_multi:
                continue
            xmin, ymin, xmax, ymax = p.geometry.bounds
            u = p.uncertainty_m + 1.0
            if xmin - u > mbox[2] or xmax + u < mbox[0] or ymin - u > mbox[3] or ymax + u < mbox[1]:
                continue
        sel = cand == p.index
        if any_multi:
            xmin, ymin, xmax, ymax = p.geometry.bounds
            u = p.uncertainty_m + 1.0
            sel |= multi & (gx >= xmin - u) & (gx <= xmax + u) & (gy >= ymin - u) & (gy <= ymax + u)
        # first part wins: a point already covered (near) by an earlier part needs no test of
        # this part's polygon (boundary)
        idx = np.flatnonzero(sel & (ins < 0))
        if idx.size:
            cov = shapely.intersects_xy(geoms.parts[p.index], gx[idx], gy[idx])
            ins[idx[cov]] = p.index
        if p.uncertainty_m > 0:
            idx = np.flatnonzero(sel & (unc < 0))
            if idx.size:
                near = _near_boundary(grid, p.index, gx[idx], gy[idx], p.uncertainty_m)
                unc[idx[near]] = p.index
    covered = ins >= 0
    status = np.where(unc >= 0, UNCERTAIN, np.where(covered, INSIDE, OUTSIDE)).astype(np.uint8)
    part = np.where(covered, ins, unc).astype(np.int32)
    return status, part, covered


#: |distance - u| below which :func:`_near_boundary` leaves the decision to GEOS ``dwithin``
#: (metres; numpy's and GEOS's point-segment formulas differ by ~1e-9 m in these coordinates)
NEAR_TIE_M = 1e-6
#: point-segment pairs per block of :func:`_near_boundary`
NEAR_BLOCK_PAIRS = 1 << 14


def _part_segments(grid: LocateGrid, k: int) -> tuple[np.ndarray, ...]:
    """Start points, deltas and inverse squared lengths of part ``k``'s boundary segments (GK)."""
    import shapely

    cache = getattr(grid, "_part_segs", None)
    if cache is None:
        cache = {}
        grid._part_segs = cache  # type: ignore[attr-defined]
    segs = cache.get(k)
    if segs is None:
        coords, ring = shapely.get_coordinates(all_rings(grid.parts[k].geometry), return_index=True)
        same = ring[1:] == ring[:-1]
        a, b = coords[:-1][same], coords[1:][same]
        ax, ay = a[:, 0].copy(), a[:, 1].copy()
        dx, dy = b[:, 0] - ax, b[:, 1] - ay
        l2 = dx * dx + dy * dy
        inv = np.divide(1.0, l2, out=np.zeros_like(l2), where=l2 > 0)
        segs = (ax, ay, dx, dy, inv)
        cache[k] = segs
    return segs


def _near_boundary(grid: LocateGrid, k: int, gx: np.ndarray, gy: np.ndarray, u: float) -> np.ndarray:
    """``shapely.dwithin(boundary of part k, point, u)`` for GK points, vectorised.

    The nearest-segment distance is computed in numpy (points × segments, in blocks); a
    point whose distance is within :data:`NEAR_TIE_M` of ``u`` is decided by GEOS itself on
    this thread's prepared boundary, so the answer is GEOS's on every point. About 20×
    cheaper than building point objects and calling ``dwithin`` for each.
    """
    import shapely

    n = gx.shape[0]
    if n == 0:
        return np.zeros(0, dtype=bool)
    ax, ay, dx, dy, inv = _part_segments(grid, k)
    if ax.shape[0] == 0:
        return np.zeros(n, dtype=bool)
    d2 = np.empty(n, dtype=float)
    step = max(1, NEAR_BLOCK_PAIRS // ax.shape[0])
    for a in range(0, n, step):
        px = gx[a : a + step, None]
        py = gy[a : a + step, None]
        qx = px - ax
        qy = py - ay
        t = qx * dx
        t += qy * dy
        t *= inv
        np.clip(t, 0.0, 1.0, out=t)
        qx -= t * dx
        qy -= t * dy
        qx *= qx
        qy *= qy
        qx += qy
        qx.min(axis=1, out=d2[a : a + step])
    np.sqrt(d2, out=d2)
    near = d2 <= u
    tie = np.flatnonzero(np.abs(d2 - u) <= NEAR_TIE_M)
    if tie.size:
        g = grid.geometries().boundaries[k]
        near[tie] = shapely.dwithin(g, shapely.points(gx[tie], gy[tie]), u)
    return near


def _covers_any(grid: LocateGrid, gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    import shapely

    geoms = grid.geometries()
    out = np.zeros(gx.shape[0], dtype=bool)
    for p in grid.parts:
        if p.has_geometry:
            rest = np.flatnonzero(~out)
            if rest.size == 0:
                break
            out[rest] = shapely.intersects_xy(geoms.parts[p.index], gx[rest], gy[rest])
    return out


#: distance method by the number of boundary segments: vectorised brute force up to
#: BRUTE_FORCE_MAX_SEGMENTS (about 3 ns per point and segment), chunk-pruned brute force up to
#: CHUNKED_MAX_SEGMENTS, GEOS STRtree nearest above (about 6–10 µs per point)
BRUTE_FORCE_MAX_SEGMENTS = 512
CHUNKED_MAX_SEGMENTS = 20_000
#: segments per chunk of the chunk-pruned method
CHUNK_SEGMENTS = 32


def _boundary_distance(grid: LocateGrid, gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Exact distance (m) from GK points to the nearest part boundary segment."""
    import shapely

    if gx.size == 0:
        return np.empty(0, dtype=float)
    tree, _ = grid.segment_tree()
    nseg = len(tree.geometries)
    if nseg <= BRUTE_FORCE_MAX_SEGMENTS:
        return _brute_distance(grid, gx, gy)
    if nseg <= CHUNKED_MAX_SEGMENTS:
        return _chunked_distance(grid, gx, gy)
    pts = shapely.points(gx, gy)
    idx, dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    out = np.full(gx.shape[0], np.nan)
    out[idx[0]] = dist
    return out


def _chunks(grid: LocateGrid) -> tuple[np.ndarray, ...]:
    """Segments padded to whole chunks, with each chunk's bounding box and anchor vertex."""
    ch = getattr(grid, "_seg_chunks", None)
    if ch is None:
        ax, ay, dx, dy, inv = _segments(grid)
        g = CHUNK_SEGMENTS
        pad = (-ax.shape[0]) % g
        if pad:  # repeat the last segment: duplicates do not change a minimum
            ax, ay, dx, dy, inv = (np.concatenate([a, np.repeat(a[-1:], pad)]) for a in (ax, ay, dx, dy, inv))
        ex, ey = ax + dx, ay + dy
        sh = (-1, g)
        x0 = np.minimum(ax, ex).reshape(sh).min(axis=1)
        x1 = np.maximum(ax, ex).reshape(sh).max(axis=1)
        y0 = np.minimum(ay, ey).reshape(sh).min(axis=1)
        y1 = np.maximum(ay, ey).reshape(sh).max(axis=1)
        ch = (ax, ay, dx, dy, inv, x0, x1, y0, y1, ax.reshape(sh)[:, 0].copy(), ay.reshape(sh)[:, 0].copy())
        grid._seg_chunks = ch  # type: ignore[attr-defined]
    return ch


def _chunked_distance(grid: LocateGrid, gx: np.ndarray, gy: np.ndarray, block: int = 512) -> np.ndarray:
    """Nearest-segment distance, exact, pruning chunks of segments by bounding boxes.

    For each point an upper bound is the distance to the nearest chunk anchor (a boundary
    vertex); a chunk whose bounding box is farther than that cannot hold the nearest
    segment. The remaining chunks' segments are measured exactly.
    """
    ax, ay, dx, dy, inv, x0, x1, y0, y1, anx, any_ = _chunks(grid)
    g = CHUNK_SEGMENTS
    lane = np.arange(g)
    out = np.empty(gx.shape[0], dtype=float)
    for a in range(0, gx.shape[0], block):
        px = gx[a : a + block]
        py = gy[a : a + block]
        qx = px[:, None] - anx[None, :]
        qy = py[:, None] - any_[None, :]
        ub = (qx * qx + qy * qy).min(axis=1)
        lx = np.maximum(x0[None, :] - px[:, None], px[:, None] - x1[None, :])
        np.maximum(lx, 0.0, out=lx)
        ly = np.maximum(y0[None, :] - py[:, None], py[:, None] - y1[None, :])
        np.maximum(ly, 0.0, out=ly)
        lx *= lx
        ly *= ly
        lx += ly
        i, c = np.nonzero(lx <= ub[:, None])
        seg = (c * g)[:, None] + lane[None, :]
        sx = px[i][:, None] - ax[seg]
        sy = py[i][:, None] - ay[seg]
        ddx, ddy = dx[seg], dy[seg]
        t = (sx * ddx + sy * ddy) * inv[seg]
        np.clip(t, 0.0, 1.0, out=t)
        sx -= t * ddx
        sy -= t * ddy
        d2 = (sx * sx + sy * sy).min(axis=1)
        starts = np.flatnonzero(np.r_[True, i[1:] != i[:-1]])
        out[a : a + px.shape[0]] = np.sqrt(np.minimum.reduceat(d2, starts))
    return out


def _segments(grid: LocateGrid) -> tuple[np.ndarray, ...]:
    segs = getattr(grid, "_seg_arrays", None)
    if segs is None:
        import shapely

        tree, _ = grid.segment_tree()
        c = shapely.get_coordinates(tree.geometries).reshape(-1, 2, 2)
        ax, ay = c[:, 0, 0].copy(), c[:, 0, 1].copy()
        dx, dy = c[:, 1, 0] - ax, c[:, 1, 1] - ay
        l2 = dx * dx + dy * dy
        inv = np.divide(1.0, l2, out=np.zeros_like(l2), where=l2 > 0)
        segs = (ax, ay, dx, dy, inv)
        grid._seg_arrays = segs  # type: ignore[attr-defined]
    return segs


def _brute_distance(grid: LocateGrid, gx: np.ndarray, gy: np.ndarray, block: int = 16384) -> np.ndarray:
    """Nearest-segment distance by brute force over all segments, in cache-sized blocks of points."""
    ax, ay, dx, dy, inv = _segments(grid)
    out = np.empty(gx.shape[0], dtype=float)
    m = min(block, gx.shape[0])
    px, py, t, e = (np.empty(m) for _ in range(4))
    for a in range(0, gx.shape[0], block):
        bx, by = gx[a : a + block], gy[a : a + block]
        k = bx.shape[0]
        best = np.full(k, np.inf)
        qx, qy, tt, ee = px[:k], py[:k], t[:k], e[:k]
        for j in range(ax.shape[0]):
            np.subtract(bx, ax[j], out=qx)
            np.subtract(by, ay[j], out=qy)
            np.multiply(qx, dx[j] * inv[j], out=tt)
            tt += qy * (dy[j] * inv[j])
            np.clip(tt, 0.0, 1.0, out=tt)
            qx -= tt * dx[j]
            qy -= tt * dy[j]
            np.multiply(qx, qx, out=ee)
            qy *= qy
            ee += qy
            np.minimum(best, ee, out=best)
        out[a : a + k] = np.sqrt(best)
    return out


#: points per block of the lookup loop on one thread (temporaries stay in the CPU cache; measured
#: on the bundled zone, 10⁶ points: 8K 8.4 ms, 16K 7.2, 32K 6.4, 64K 6.2, 128K 6.2)
BLOCK_POINTS = 1 << 16
#: points per block on the thread pool: fewer, longer numpy calls hand the GIL over less often.
#: Measured on 2 cores (load 1.9, best of 7, sparse / bundled zone), 2 threads against 1: 4·10⁶
#: points 64K-point blocks 1.42× / 1.40×, 128K 1.63× / 1.58×, 256K 1.72× / 1.64×, 512K 1.48× / 1.42×;
#: 10⁶ points 128K 1.33× / 1.07×, 256K 1.33× / 1.21×
PARALLEL_BLOCK_POINTS = 1 << 18
#: points per block of the compiled kernel on one thread (it works in cache-sized chunks of its own, so a
#: block only sets how often Python is called: measured at 10⁶ points, CPU time, best / median of 25 alternating
#: runs, sparse zone 64K 5.98 / 8.96 ms, 1M 5.79 / 8.22 ms; bundled zone 6.74 / 7.63 and 6.40 / 7.28 ms)
KERNEL_BLOCK_POINTS = 1 << 20

_SCRATCH = threading.local()


def _scratch(size: int) -> dict[str, np.ndarray]:
    bufs = getattr(_SCRATCH, "bufs", None)
    if bufs is None or bufs["fx"].shape[0] < size:
        bufs = {
            "fx": np.empty(size, dtype=float),  # the buffer-size key
            "txy": np.empty((2, size), dtype=float),
            "flat": np.empty(size, dtype=np.intp),
            "pk_i1": np.empty(size, dtype=np.int8),
            "pk_i2": np.empty(size, dtype=np.int16),
            "pk_i4": np.empty(size, dtype=np.int32),
            "ok": np.empty(size, dtype=bool),
            "ok2": np.empty(size, dtype=bool),
        }
        _SCRATCH.bufs = bufs
    return bufs


def _grid_in_range(grid: LocateGrid) -> bool:
    """Whether every cell of the grid lies within the valid coordinates of its frame."""
    v = getattr(grid, "_in_range", None)
    if v is None:
        frame = grid.frame
        x1 = grid.x0 + grid.nx * grid.dx
        y1 = grid.y0 + grid.ny * grid.dy
        if frame.datum in ("gcj02", "bd09"):
            b = _crs.CHINA_BBOX
            v = grid.x0 >= b[0] and x1 <= b[2] and grid.y0 >= b[1] and y1 <= b[3]
        elif frame.is_lonlat:
            v = grid.x0 >= -180.0 and x1 <= 180.0 and grid.y0 >= -90.0 and y1 <= 90.0
        else:
            v = True  # projected input: inside the grid means finite
        grid._in_range = bool(v)  # type: ignore[attr-defined]
    return bool(v)


def _lookup_slow_path(grid: LocateGrid, fx: np.ndarray, fy: np.ndarray, reason: np.ndarray,
                      bufs: dict[str, np.ndarray], tx: np.ndarray, ty: np.ndarray) -> tuple[bool, np.ndarray]:
    """Validation and clipping for a block with invalid points or points beyond the grid.

    Recomputes ``tx``/``ty`` (scaled, clipped into the grid's outside margin) and returns
    ``(all_ok, ok)``.
    """
    m = fx.shape[0]
    ok, ok2 = bufs["ok"][:m], bufs["ok2"][:m]
    frame = grid.frame
    xmin, xmax, ymin, ymax = float(fx.min()), float(fx.max()), float(fy.min()), float(fy.max())
    if frame.datum in ("gcj02", "bd09"):
        b = _crs.CHINA_BBOX
        all_ok = xmin >= b[0] and xmax <= b[2] and ymin >= b[1] and ymax <= b[3]
    elif frame.is_lonlat:
        all_ok = xmin >= -180.0 and xmax <= 180.0 and ymin >= -90.0 and ymax <= 90.0
    else:
        all_ok = math.isfinite(xmin + xmax + ymin + ymax)
    if not all_ok:
        if frame.datum in ("gcj02", "bd09"):
            b = _crs.CHINA_BBOX
            np.greater_equal(fx, b[0], out=ok)
            ok &= np.less_equal(fx, b[2], out=ok2)
            ok &= np.greater_equal(fy, b[1], out=ok2)
            ok &= np.less_equal(fy, b[3], out=ok2)
        elif frame.is_lonlat:
            np.less_equal(np.abs(fy, out=ty), 90.0, out=ok)
            ok &= np.less_equal(np.abs(fx, out=tx), 180.0, out=ok2)
        else:
            np.isfinite(fx, out=ok)
            ok &= np.isfinite(fy, out=ok2)
        r = _validate(frame, fx, fy)
        reason[:] = r if r is not None else 0
        fx = np.where(ok, fx, grid.x0)
        fy = np.where(ok, fy, grid.y0)
    else:
        reason[:] = 0
    np.subtract(fx, grid.x0, out=tx)
    tx *= 1.0 / grid.dx
    np.subtract(fy, grid.y0, out=ty)
    ty *= 1.0 / grid.dy
    np.clip(tx, 0.0, grid.nx - 1, out=tx)
    np.clip(ty, 0.0, grid.ny - 1, out=ty)
    return all_ok, ok


#: :func:`_lookup_block`'s float-to-int step: ``v + (2**52 - 0.5)`` holds ``round(v - 0.5)`` in its low bits
_FLOOR_MAGIC = 2.0**52 - 0.5
_FLOOR_MAGIC_BITS = int(np.array(2.0**52).view(np.int64))
#: the int64 view is a valid ``take`` index only where intp is int64 (not on 32-bit builds)
_FLOOR_BY_BITS = np.dtype(np.intp) == np.dtype(np.int64)


def _lookup_block(grid: LocateGrid, fx: np.ndarray, fy: np.ndarray, status: np.ndarray, part: np.ndarray,
                  reason: np.ndarray, bufs: dict[str, np.ndarray]) -> None:
    """Grid lookup for one cache-sized block, written into the output slices.

    Status :data:`~xclz_geo.geo.grid.PACKED_EXACT` marks points that still need the exact
    predicate (``part`` then holds the candidate part, -2 for several).

    Ten passes over the block plus two min/max reductions that also validate it: two
    per axis for the scaled coordinate, floor/scale/add for the flat cell index in float64,
    one cast, one gather of the packed grid and a mask and a shift straight into the outputs
    (``reason`` arrives zero-filled and is left alone). Blocks with invalid points or points
    beyond the grid take :func:`_lookup_slow_path`. The float flat index ``floor(ty) * nx + tx`` is exact up to the last bit of
    ``tx``; a point within ~1e-9 of a cell's width from a cell edge may be given the
    neighbouring cell, which is harmless: every point within 1% of a cell of a boundary lies in
    an exact cell (see :mod:`xclz_geo.geo.grid`), so a point that close to a settled cell has its answer.
    """
    m = fx.shape[0]
    txy = bufs["txy"][:, :m]
    tx, ty = txy[0], txy[1]
    # scaled coordinates (cells), then their min/max in two reductions over both rows: NaN
    # propagates into them, and a block wholly inside a grid that lies within the frame's valid
    # range needs no other validation
    np.subtract(fx, grid.x0, out=tx)
    tx *= 1.0 / grid.dx
    np.subtract(fy, grid.y0, out=ty)
    ty *= 1.0 / grid.dy
    lo = txy.min(axis=1)
    hi = txy.max(axis=1)
    fast = bool(lo[0] >= 0.0 and lo[1] >= 0.0 and hi[0] < grid.nx - 1 and hi[1] < grid.ny - 1) and _grid_in_range(grid)
    all_ok = True
    if not fast:
        all_ok, ok = _lookup_slow_path(grid, fx, fy, reason, bufs, tx, ty)
    np.floor(ty, out=ty)
    ty *= grid.nx
    ty += tx
    # the integer part without numpy's float-to-int conversion (a third of the arithmetic's time):
    # adding 2**52 - 0.5 leaves round(ty - 0.5) in the low mantissa bits (ulp 1 above 2**52), read
    # through an int64 view. It equals floor(ty) except for a point exactly on a cell's left
    # edge, which may get the neighbouring cell: harmless, as for any rounding at a cell edge
    # (see the docstring). A value below 0.5 (the corner cell) may read as -1, which
    # ``take`` wraps to the last cell, like cell 0 an outside cell of the grid's margin.
    if _FLOOR_BY_BITS:
        ty += _FLOOR_MAGIC
        flat = ty.view(np.int64)
        flat -= _FLOOR_MAGIC_BITS
    else:  # pragma: no cover - 32-bit builds
        flat = bufs["flat"][:m]
        np.copyto(flat, ty, casting="unsafe")
    packed = grid.packed
    pk = bufs[f"pk_i{packed.dtype.itemsize}"][:m]
    # mode="wrap": with mode="raise" numpy buffers ``out`` (a copy per call), and "wrap" costs a
    # sixth less than "clip" (measured, 64K points). The index is in range (checked above) but for
    # the -1 of the corner cell, which wraps to the opposite corner: both are cells of the grid's
    # outside margin (four cells wide on every side)
    np.take(packed.ravel(), flat, out=pk, mode="wrap")
    np.bitwise_and(pk, (1 << PACKED_SHIFT) - 1, out=status, casting="unsafe")
    np.right_shift(pk, PACKED_SHIFT, out=part)
    if not all_ok:
        status[~ok] = INVALID
        part[~ok] = -1


#: cells per bucket of the tile index (:func:`_tile_index`)
TILE_BUCKET_BITS = 4
TILE_BUCKET = 1 << TILE_BUCKET_BITS
_POPCOUNT16: np.ndarray | None = None


def _popcount16(v: np.ndarray) -> np.ndarray:
    """Set bits of each ``uint16`` value (as ``int64``)."""
    global _POPCOUNT16
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(v).astype(np.int64)
    if _POPCOUNT16 is None:  # numpy < 2.0
        a = np.arange(1 << 16, dtype=np.uint32)
        c = np.zeros(1 << 16, dtype=np.uint8)
        for k in range(16):
            c += ((a >> k) & 1).astype(np.uint8)
        _POPCOUNT16 = c
    return _POPCOUNT16[v].astype(np.int64)


def _tile_index(grid: LocateGrid) -> tuple[np.ndarray, np.ndarray]:
    """Where each coarse cell's tile sits in :attr:`LocateGrid.tile_cells`, without a search.

    ``(start, occ)`` per bucket of :data:`TILE_BUCKET` consecutive cells (flat index): the number
    of tiles before the bucket (``int64``) and a ``uint16`` with bit ``j`` set when the bucket's
    ``j``-th cell is a tile. A binary search of ``tile_cells`` costs ~75 ns a point in branch
    misses; this is two gathers from arrays of 0.4 bytes a cell. Built on first use, cached.
    """
    got = getattr(grid, "_tile_idx", None)
    if got is None:
        tiles = np.asarray(grid.tile_cells, dtype=np.int64)
        nb = -(-(grid.nx * grid.ny) // TILE_BUCKET)
        occ_bits = np.zeros(nb * TILE_BUCKET, dtype=bool)
        occ_bits[tiles] = True
        weights = (np.uint16(1) << np.arange(TILE_BUCKET, dtype=np.uint16)).astype(np.uint16)
        occ = (occ_bits.reshape(nb, TILE_BUCKET) * weights).sum(axis=1, dtype=np.uint16)
        counts = occ_bits.reshape(nb, TILE_BUCKET).sum(axis=1, dtype=np.int64)
        start = np.zeros(nb, dtype=np.int64)
        np.cumsum(counts[:-1], out=start[1:])
        got = (start, occ)
        grid._tile_idx = got  # type: ignore[attr-defined]
    return got


def _fine_stage(grid: LocateGrid, ex: np.ndarray, ex_x: np.ndarray, ex_y: np.ndarray, status: np.ndarray,
                part: np.ndarray) -> np.ndarray | None:
    """Settle points of exact cells from the grid's refinement (:attr:`LocateGrid.fine_codes`).

    ``ex`` are the points' indices, ``ex_x``/``ex_y`` their frame coordinates. Returns the mask of
    the points still left to the exact test (``None``: all of them, the grid has no refinement).
    A point's tile is found by a binary search of its cell among :attr:`LocateGrid.tile_cells`,
    its fine cell by the fractional part of its scaled coordinates (clamped into the tile: a
    point that rounding puts on the far side of a cell edge is within 1e-9 of a cell of it, far
    inside the margin, see :mod:`xclz_geo.geo.grid`). A cell the search does not find leaves the
    point to the exact test. Points still exact get the fine cell's candidate part.
    """
    sub = int(getattr(grid, "sub", 0) or 0)
    tiles = getattr(grid, "tile_cells", None)
    if not sub or tiles is None or not ex.size or not tiles.size:
        return None
    # points in exact cells lie inside the grid (its outer cells are outside cells): 0 <= t < n
    tx = ex_x - grid.x0
    tx *= 1.0 / grid.dx
    ty = ex_y - grid.y0
    ty *= 1.0 / grid.dy
    ix = tx.astype(np.int64)
    iy = ty.astype(np.int64)
    cell = iy * grid.nx
    cell += ix
    # the tile of the cell: the bucket of 16 consecutive cells, the tiles before it, and the
    # tiles before the cell within it (a popcount of the bucket's occupancy bits)
    start, occ = _tile_index(grid)
    np.clip(cell, 0, occ.shape[0] * TILE_BUCKET - 1, out=cell)
    bucket = cell >> TILE_BUCKET_BITS
    bit = (cell & (TILE_BUCKET - 1)).astype(np.uint16)
    m = occ[bucket]
    hit = ((m >> bit) & 1).astype(bool)
    below = m & ((np.uint16(1) << bit) - np.uint16(1))
    t = start[bucket] + _popcount16(below)
    np.minimum(t, tiles.size - 1, out=t)
    tx -= ix
    tx *= sub
    ty -= iy
    ty *= sub
    sx = np.minimum(tx.astype(np.int64), sub - 1)
    sy = np.minimum(ty.astype(np.int64), sub - 1)
    t *= sub * sub
    sy *= sub
    t += sy
    t += sx
    pk = np.asarray(grid.fine_packed).reshape(-1)[t]
    if not hit.all():  # not a tile (rounding at a cell edge): the exact test with every part
        pk[~hit] = (-2 << PACKED_SHIFT) | PACKED_EXACT
    # settled points: status and part; the others stay exact with the fine cell's candidate part(s)
    st = pk & ((1 << PACKED_SHIFT) - 1)
    status[ex] = st
    part[ex] = pk >> PACKED_SHIFT
    return st == PACKED_EXACT


def _exact_stage(grid: LocateGrid, fx: np.ndarray, fy: np.ndarray, ex: np.ndarray, status: np.ndarray,
                 part: np.ndarray, reason_out: np.ndarray, ex_x: np.ndarray | None = None,
                 ex_y: np.ndarray | None = None, *, fine_done: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Settle the points ``ex`` (indices into the arrays) that the coarse grid left to the exact predicate.

    First the grid's refinement (:func:`_fine_stage`), then for the rest the exact predicate:
    they are projected to Gauss-Krüger (points that cannot be transformed become invalid),
    tested by :func:`_exact`, and their status and part written. ``ex_x``/``ex_y``: the points'
    coordinates when the caller has them already. ``fine_done``: the refinement was applied already
    (the compiled kernel, :func:`_kernel_block`), ``ex`` are the points it left exact. Returns the
    indices that went to the exact predicate and their coverage by a part polygon (``None`` when
    there were none).
    """
    if not ex.size:
        return ex, None
    if ex_x is None or ex_y is None:
        ex_x, ex_y = fx[ex], fy[ex]
    keep = None if fine_done else _fine_stage(grid, ex, ex_x, ex_y, status, part)
    if keep is not None:
        ex, ex_x, ex_y = ex[keep], ex_x[keep], ex_y[keep]
    if not ex.size:
        return ex, None
    gxe, gye = grid.frame_map.to_gk(ex_x, ex_y)
    bad = ~(np.isfinite(gxe) & np.isfinite(gye))
    if bad.any():
        reason_out[ex[bad]] = R_TRANSFORM
        status[ex[bad]] = INVALID
        part[ex[bad]] = -1
        keep = ~bad
        ex, gxe, gye = ex[keep], gxe[keep], gye[keep]
    s, p, covered_ex = _exact(grid, gxe, gye, part[ex])
    status[ex] = s
    part[ex] = p
    return ex, covered_ex


def _use_kernel() -> bool:
    """Whether the compiled kernel answers the lookups now (built, and :data:`KERNEL` is ``"c"``)."""
    return _CKERNEL is not None and KERNEL == "c"


#: super cells of the compiled kernel: 2**4 × 2**4 coarse cells (``SUPER_BITS`` in ``_lookup.c``)
KERNEL_SUPER_BITS = 4
#: marks a super cell whose cells differ (``SUPER_MIXED`` in ``_lookup.c``)
_SUPER_MIXED = np.iinfo(np.int32).min


def _super_table(packed: np.ndarray) -> tuple[np.ndarray, int]:
    """The compiled kernel's super table: per block of 16 × 16 coarse cells, their common packed code, or
    :data:`_SUPER_MIXED` where they differ; and the number of blocks per row.

    Nearly all points fall in uniform blocks (measured on 2·10⁵ random points: 92–96 % on the bundled,
    1,000-vertex and sparse zones) and read their code from this table of a few KB, which stays in the
    L1 cache, instead of the 1 MB grid: the grid's one random read per point was most of the lookup's time.
    The answer is the grid's code either way (the block is uniform). Blocks on the last row and column
    are padded with copies of their own edge cells.
    """
    s = 1 << KERNEL_SUPER_BITS
    ny, nx = packed.shape
    sny, snx = -(-ny // s), -(-nx // s)
    p = np.pad(packed.astype(np.int32), ((0, sny * s - ny), (0, snx * s - nx)), mode="edge").reshape(sny, s, snx, s)
    lo = p.min(axis=(1, 3))
    hi = p.max(axis=(1, 3))
    return np.ascontiguousarray(np.where(lo == hi, lo, _SUPER_MIXED).astype(np.int32).reshape(-1)), int(snx)


def _kernel_grid(grid: LocateGrid) -> tuple | None:
    """The grid's arrays and constants as :func:`xclz_geo.geo._lookup.lookup` takes them (cached on the grid).

    The same values the numpy path computes with: ``1.0 / dx``, the tile index of :func:`_tile_index`,
    the frame's validity rule (:func:`_validate`: lon/lat range, the China box of GCJ-02/BD-09, or finite
    for projected input) and the float-to-int step of :func:`_lookup_block`. ``None`` when the refinement
    does not fit the coarse grid (a grid rebuilt with other cells but the old tiles, e.g. the one-cell grid
    of a pruned Dask partition): the numpy path answers, which reads the tiles only for points of exact cells.
    """
    kg = getattr(grid, "_kgrid", None)
    if kg is None:
        frame = grid.frame
        mode = 1 if frame.datum in ("gcj02", "bd09") else (0 if frame.is_lonlat else 2)
        b = _crs.CHINA_BBOX
        sub = int(getattr(grid, "sub", 0) or 0)
        tiles = getattr(grid, "tile_cells", None)
        fine_packed = getattr(grid, "fine_packed", None)
        has = bool(sub and tiles is not None and tiles.size)
        if has and (fine_packed is None or int(np.max(tiles)) >= grid.nx * grid.ny or int(np.min(tiles)) < 0
                    or np.asarray(fine_packed).size != tiles.size * sub * sub):
            grid._kgrid = False  # type: ignore[attr-defined]
            return None
        start = occ = fine = None
        if has:
            start, occ = _tile_index(grid)
            start = np.ascontiguousarray(start, dtype=np.int64)
            occ = np.ascontiguousarray(occ, dtype=np.uint16)
            fine = np.ascontiguousarray(grid.fine_packed).reshape(-1)
        packed = np.ascontiguousarray(grid.packed).reshape(-1)
        sup, snx = _super_table(packed.reshape(grid.ny, grid.nx))
        kg = (packed, start, occ, fine, float(grid.x0), float(grid.y0),
              float(1.0 / grid.dx), float(1.0 / grid.dy), int(grid.nx), int(grid.ny), sub, has, mode,
              float(b[0]), float(b[1]), float(b[2]), float(b[3]), bool(_FLOOR_BY_BITS), sup, snx)
        grid._kgrid = kg  # type: ignore[attr-defined]
    return kg or None


def _kernel_block(grid: LocateGrid, fx: np.ndarray, fy: np.ndarray, status: np.ndarray, part: np.ndarray,
                  reason: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Coarse and fine stage of a block in one compiled pass; the indices (into the block) left exact.

    :func:`xclz_geo.geo._lookup.lookup` writes status, part and (for invalid points) reason exactly as
    :func:`_lookup_block` followed by :func:`_fine_stage` do, with the GIL released; ``idx`` is an
    ``int64`` scratch array of at least the block's length. Should the kernel decline a block (a point
    of an exact cell off the grid: never on a grid :mod:`xclz_geo.geo.grid` built), the numpy path
    answers it. ``reason`` must arrive zero-filled.
    """
    kg = _kernel_grid(grid)
    cnt = _CKERNEL.lookup(fx, fy, status, part, reason, idx, 0, kg) if kg is not None else -1
    if cnt >= 0:
        return idx[:cnt]
    reason[:] = 0
    _lookup_block(grid, fx, fy, status, part, reason, _scratch(fx.shape[0]))
    e = np.flatnonzero(status == PACKED_EXACT)
    if e.size:
        keep = _fine_stage(grid, e, fx[e], fy[e], status, part)
        if keep is not None:
            e = e[keep]
    return e


def _status_worker(grid: LocateGrid, fx: np.ndarray, fy: np.ndarray, status: np.ndarray, part: np.ndarray,
                   reason: np.ndarray, block: int, tickets: Any, nblocks: int) -> None:
    """Status and part on one thread: take blocks until none are left, then settle their exact points.

    ``tickets`` is an ``itertools.count`` shared by the threads (``next`` on it is atomic): a
    thread held up by another process simply takes fewer blocks. Each thread collects the points
    its blocks left to the exact predicate, with their coordinates while the block is in the CPU
    cache, and settles them in one batch at the end (:func:`_exact_stage`: one refinement lookup,
    one projection and one GEOS call per part over all of them, long calls that release the GIL
    and overlap with the other threads' lookups or exact stages).
    """
    n = fx.shape[0]
    use_c = _use_kernel()
    if use_c:
        idx = np.empty(min(n, block), dtype=np.int64)
    else:
        bufs = _scratch(min(n, block))
    found, xs, ys = [], [], []
    while True:
        i = next(tickets)
        if i >= nblocks:
            break
        a = i * block
        b = min(a + block, n)
        st = status[a:b]
        fxb, fyb = fx[a:b], fy[a:b]
        if use_c:
            e = _kernel_block(grid, fxb, fyb, st, part[a:b], reason[a:b], idx)
        else:
            _lookup_block(grid, fxb, fyb, st, part[a:b], reason[a:b], bufs)
            e = np.flatnonzero(st == PACKED_EXACT)
        if e.size:
            xs.append(fxb[e])
            ys.append(fyb[e])
            found.append(e + a)
    if found:
        _exact_stage(grid, fx, fy, np.concatenate(found), status, part, reason, np.concatenate(xs), np.concatenate(ys),
                     fine_done=use_c)


def _locate_chunk(
    grid: LocateGrid,
    fx: np.ndarray,
    fy: np.ndarray,
    with_distance: bool,
    status: np.ndarray,
    part: np.ndarray,
    reason_out: np.ndarray,
    dist_out: np.ndarray | None,
    block: int | None = None,
) -> None:
    """Locate one chunk into the output slices; ``reason_out`` must arrive zero-filled."""
    n = fx.shape[0]
    block = block or BLOCK_POINTS
    if _use_kernel():
        # the compiled kernel: coarse and fine stage in one pass over the chunk
        ex = _kernel_block(grid, fx, fy, status, part, reason_out, np.empty(n, dtype=np.int64))
        ex, covered_ex = _exact_stage(grid, fx, fy, ex, status, part, reason_out, fine_done=True)
    else:
        bufs = _scratch(min(n, block))
        for a in range(0, n, block):
            b = min(a + block, n)
            _lookup_block(grid, fx[a:b], fy[a:b], status[a:b], part[a:b], reason_out[a:b], bufs)
        # one pass over the whole chunk: cheaper than a compare and a nonzero per block
        ex = np.flatnonzero(status == PACKED_EXACT)
        ex, covered_ex = _exact_stage(grid, fx, fy, ex, status, part, reason_out)
    if dist_out is None:
        return
    ok = np.flatnonzero(status != INVALID)
    gx, gy = grid.frame_map.to_gk(fx[ok], fy[ok])
    d = _boundary_distance(grid, gx, gy)
    codes = grid.cell_codes(fx[ok], fy[ok])
    cov = grid.covered_lut[codes]
    if ex.size:
        # exact points: coverage from the exact predicate (ex is a subset of ok)
        pos = np.searchsorted(ok, ex)
        cov[pos] = covered_ex
    unknown = np.flatnonzero(cov == 2)
    if unknown.size:
        cov[unknown] = _covers_any(grid, gx[unknown], gy[unknown])
    dist_out[:] = np.nan
    dist_out[ok] = np.where(cov == 1, d, -d)


def locate_xy(
    zone: Any,
    x: Any,
    y: Any,
    *,
    datum: str = "wgs84",
    crs: Any | None = None,
    with_distance: bool = True,
    threads: int | None = None,
    grid: LocateGrid | None = None,
) -> LocateResult:
    """Locate points given as coordinate arrays (the vectorised core).

    Parameters
    ----------
    zone
        A :class:`~xclz_geo.boundaries.zone.Zone` with part polygons (first, as the container is
        in shapely's ``contains_xy(geom, x, y)``; the old order ``locate_xy(x, y, zone)`` still
        works for one release with a :class:`DeprecationWarning`).
    x, y
        Longitudes and latitudes (or eastings and northings with ``crs``), array-like of
        equal length; NaN and out-of-range values give ``invalid``.
    datum
        ``wgs84`` (default), ``cgcs2000`` (= WGS84), ``gcj02`` or ``bd09`` for lon/lat input.
    crs
        CRS of projected input (e.g. ``"EPSG:4549"``); WGS84/CGCS2000 geographic is the same as
        ``datum="wgs84"``.
    with_distance
        Also compute the exact signed distance to the nearest part boundary (default True, as in
        :func:`locate` and :func:`locate_table`: near schematic edges the distance is what users
        ask for). Pass ``False`` for the grid-only fast path of large batches (every point is
        otherwise projected and measured, several times slower).
    threads
        Threads for batches above :data:`PARALLEL_MIN_POINTS` (default: the usable cores).
    grid
        A prebuilt grid (default: the cached grid of this zone and frame).

    Returns
    -------
    LocateResult

    Raises
    ------
    DatumError
        For an unknown datum tag or GCJ-02/BD-09 with a projected CRS.
    BoundaryError
        When the zone has no part polygons.
    InputDataError
        When ``x`` and ``y`` differ in length.
    """
    if _looks_old_xy_order(zone, x, y):
        _results.warn_renamed("locate_xy(x, y, zone)", "locate_xy(zone, x, y) (the zone first)")
        zone, x, y = y, zone, x
    frame = make_frame(datum=datum, crs=crs)
    fx = np.ascontiguousarray(np.asarray(x, dtype=float).ravel())
    fy = np.ascontiguousarray(np.asarray(y, dtype=float).ravel())
    if fx.shape != fy.shape:
        raise InputDataError(f"x has {fx.size} values but y has {fy.size}; give one x and one y per point")
    if grid is None:
        grid = build_grid(zone, frame=frame)
    elif grid.frame.key != frame.key:
        raise InputDataError(f"the grid was built for {grid.frame.label()} input, not {frame.label()}")
    # the zone's table is read here, next to build_grid's reading of it (warm caches), not after the batch
    parts = grid.parts
    zq, zone_ids = _part_meta(zone, parts)
    n = fx.size
    status = np.empty(n, dtype=np.uint8)
    part = np.empty(n, dtype=np.int32)
    # zero-filled by the allocator (fresh zero pages): the fast path of the lookup never writes it,
    # which saves a pass and the page faults of n bytes (only blocks with invalid points write reasons)
    reason = np.zeros(n, dtype=np.uint8)
    dist = np.empty(n, dtype=float) if with_distance else None
    cap = default_threads() if threads is None else max(1, int(threads))
    if with_distance:
        nthreads = cap if n > PARALLEL_MIN_POINTS else 1
    else:
        nthreads = choose_threads(n, cores=cap)
    if with_distance and nthreads > 1:
        # distances: contiguous chunks of about CHUNK_POINTS (balance and memory)
        per_thread = max(1, round(n / (nthreads * CHUNK_POINTS)))
        step = math.ceil(n / (nthreads * per_thread))
        bounds = [(i, min(i + step, n)) for i in range(0, n, step)]
        pool = _executor(nthreads)
        futures = [
            pool.submit(_locate_chunk, grid, fx[a:b], fy[a:b], with_distance, status[a:b], part[a:b], reason[a:b],
                        None if dist is None else dist[a:b], PARALLEL_BLOCK_POINTS)
            for a, b in bounds
        ]
        for f in futures:
            f.result()
    elif with_distance and n:
        _locate_chunk(grid, fx, fy, with_distance, status, part, reason, dist)
    elif n:
        # status and part: blocks handed out one at a time; the calling thread is one of the workers
        block = PARALLEL_BLOCK_POINTS if nthreads > 1 else (KERNEL_BLOCK_POINTS if _use_kernel() else BLOCK_POINTS)
        nblocks = -(-n // block)
        tickets = itertools.count()
        args = (grid, fx, fy, status, part, reason, block, tickets, nblocks)
        futures = [_executor(nthreads - 1).submit(_status_worker, *args) for _ in range(nthreads - 1)] if nthreads > 1 else []
        _status_worker(*args)
        for f in futures:
            f.result()
    names = grid.part_names_zh or tuple(p.part_id for p in parts)
    part_q = tuple(str(zq.get(p.part_id) or grid.quality or "") for p in parts) if zq else ()
    return LocateResult(
        status=status,
        part_index=part,
        part_ids=tuple(p.part_id for p in parts),
        block_ids=tuple(p.block_id for p in parts),
        part_names_zh=names,
        distance_m=dist,
        reason=reason,
        datum=frame.datum or frame.label(),
        quality=grid.quality,
        part_qualities=part_q,
        x=fx,
        y=fy,
        frame=frame,
        zone_ids=zone_ids,
    )


def _looks_old_xy_order(zone: Any, x: Any, y: Any) -> bool:
    """True for the pre-0.x call ``locate_xy(x, y, zone)`` (the zone third)."""
    return _results.looks_like_zone(y) and not _results.looks_like_zone(zone)


def _part_meta(zone: Any, parts: Sequence[Any]) -> tuple[dict[str, str | None], tuple[str, ...]]:
    """``zone.quality_by_part`` and the zone id of each grid part (:func:`_zone_ids`), read cheaply.

    For a :class:`~xclz_geo.boundaries.zone.Zone` both are properties computed from its parts
    table through pandas on every access (about 1.3 ms together, a tenth of locating 10⁶ points);
    here they are computed from the same columns as plain arrays, with the same result. Any other
    zone object (e.g. one holding precomputed values) is asked for its attributes as before.
    """
    cls = type(zone)
    table = getattr(zone, "parts", None)
    cols = getattr(table, "columns", ())
    if "part_id" not in cols or not hasattr(table, "geometry"):
        return getattr(zone, "quality_by_part", None) or {}, _zone_ids(zone, parts)
    pids = [str(v) for v in table["part_id"]]
    if isinstance(getattr(cls, "quality_by_part", None), property) and "quality" in cols:
        import shapely

        geoms = np.asarray(table.geometry.array, dtype=object)
        has = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        qs = list(table["quality"])
        zq: dict[str, str | None] = {pid: (str(q) if h else None) for pid, q, h in zip(pids, qs, has)}
    else:
        zq = getattr(zone, "quality_by_part", None) or {}
    if isinstance(getattr(cls, "zone_ids", None), property):
        if "zone_id" in cols:
            ids = [str(v) for v in table["zone_id"]]
        else:
            spec = getattr(zone, "spec", None)
            ids = [spec.id if spec is not None else ""] * len(pids)
        if not ids:
            return zq, ()
        by_part = dict(zip(pids, ids))
        return zq, tuple(str(by_part.get(p.part_id, "")) for p in parts)
    return zq, _zone_ids(zone, parts)


def _zone_ids(zone: Any, parts: Sequence[Any]) -> tuple[str, ...]:
    """Zone id of each grid part (``Zone.zone_ids``; empty when the zone object has none)."""
    ids = getattr(zone, "zone_ids", None)
    if not ids:
        return ()
    by_part = dict(zip((str(p) for p in zone.parts["part_id"]), ids))
    return tuple(str(by_part.get(p.part_id, "")) for p in parts)


# ------------------------------------------------------------------ tables


def detect_xy_columns(columns: Iterable[Any], *, x: str | None = None, y: str | None = None, source: str = "table") -> tuple[str, str]:
    """Find the x (lon) and y (lat) columns of a table: :func:`xclz_geo.geo.xycols.find_xy_columns`.

    Recognises ``lon``/``lng``/``longitude``/``经度`` and ``lat``/``latitude``/``纬度`` first, then
    ``x``/``x坐标``/``东坐标``/``easting`` and ``y``/``y坐标``/``北坐标``/``northing`` (case, spaces, a bracketed
    unit or datum ignored; .dbf-cut names matched). Explicit ``x``/``y`` must exist.

    Raises
    ------
    InputDataError
        Listing the columns when a name is missing, and the candidates when two or more could be meant.
    """
    from xclz_geo.geo.xycols import find_xy_columns

    return find_xy_columns(columns, x=x, y=y, source=source, required=True)


def parse_coordinates(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Numbers from a column that may hold text, blanks and NaN.

    Returns ``(values, reason)``: float array (NaN where unusable) and reason codes
    (:data:`R_BLANK`, :data:`R_TEXT`, :data:`R_MISSING`; 0 where a finite number was read).
    Numbers written with a comma as decimal separator or with a trailing ``°`` are read.
    """
    import pandas as pd

    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        # in a numeric column (Excel, Parquet) a missing value is an empty cell
        reason = np.where(np.isfinite(v), R_OK, np.where(np.isnan(v), R_BLANK, R_MISSING)).astype(np.uint8)
        return v, reason
    text = s.astype("string")
    stripped = text.str.strip()
    v = pd.to_numeric(stripped, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(v)
    if bad.any():
        idx = np.flatnonzero(bad)
        sub = stripped.iloc[idx]
        fixed = sub.str.replace("°", "", regex=False).str.replace(",", ".", regex=False).str.strip()
        v2 = pd.to_numeric(fixed, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        v[idx] = v2
    reason = np.zeros(v.shape, dtype=np.uint8)
    bad = ~np.isfinite(v)
    if bad.any():
        idx = np.flatnonzero(bad)
        sub = stripped.iloc[idx]
        blank = sub.isna().to_numpy() | (sub.fillna("") == "").to_numpy()
        lowered = sub.fillna("").str.lower().to_numpy(dtype=object)
        nanlike = np.isin(lowered, ["nan", "inf", "-inf", "+inf", "infinity", "-infinity", "na", "n/a", "null", "none"])
        reason[idx] = np.where(blank, R_BLANK, np.where(nanlike, R_MISSING, R_TEXT))
        v[idx] = np.nan
    return v, reason


def _row_notes(reason: np.ndarray, xv: Any, yv: Any, xname: str, yname: str, datum: str, xr: np.ndarray, yr: np.ndarray,
               xf: np.ndarray, yf: np.ndarray) -> np.ndarray:
    """Per-row note texts naming the column and value at fault."""
    notes = np.full(reason.shape[0], "", dtype=object)
    for i in np.flatnonzero(reason):
        r = int(reason[i])
        if xr[i] or yr[i]:
            msgs = []
            for code, name, raw in ((xr[i], xname, xv[i]), (yr[i], yname, yv[i])):
                if code == R_BLANK:
                    msgs.append(f"{name} is blank")
                elif code == R_TEXT:
                    msgs.append(f"{name} is not a number: {str(raw)[:40]!r}")
                elif code == R_MISSING:
                    msgs.append(f"{name} is not a finite number ({str(raw)[:20]})")
            notes[i] = "; ".join(msgs)
        elif r == R_LAT:
            hint = " (x and y swapped?)" if abs(xf[i]) <= 90 < abs(yf[i]) <= 180 else ""
            notes[i] = f"{yname} {yf[i]:g} out of range [-90, 90]{hint}"
        elif r == R_LON:
            notes[i] = f"{xname} {xf[i]:g} out of range [-180, 180]"
        elif r == R_CHINA:
            notes[i] = (f"({xf[i]:g}, {yf[i]:g}) is outside China: {datum} coordinates exist only in China "
                        "(wrong datum tag, or x and y swapped?)")
        else:
            notes[i] = REASONS[r].format(datum=datum)
    return notes


def result_frame(res: LocateResult, *, index: Any = None, notes: np.ndarray | None = None) -> "Any":
    """The :func:`locate` DataFrame of a :class:`LocateResult`."""
    import pandas as pd

    status = pd.Categorical.from_codes(res.status.astype(np.int8), categories=list(STATUS_LABELS))
    return pd.DataFrame(
        {
            "status": status,
            "zone_id": res.zone_id,
            "block_id": res.block_id,
            "part_id": res.part_id,
            "distance_m": res.distance_m if res.distance_m is not None else np.full(len(res), np.nan),
            "quality": res.row_quality,
            "note": notes if notes is not None else res.notes(),
        },
        index=index,
    )


def locate_table(
    zone: Any,
    df: Any,
    *,
    x: str | None = None,
    y: str | None = None,
    datum: str = "wgs84",
    crs: Any | None = None,
    with_distance: bool = True,
    threads: int | None = None,
    source: str = "table",
    grid: LocateGrid | None = None,
) -> LocateResult:
    """Locate the rows of a (Geo)DataFrame.

    A GeoDataFrame is located by its point geometries in its CRS, unless ``x``/``y`` name
    columns; a plain DataFrame by its ``x``/``y`` columns or the detected lon/lat ones. Rows
    that cannot be read come out ``invalid`` with a note; no row is dropped.

    Parameters
    ----------
    zone
        The zone, first (``locate_table(df, zone)`` still works for one release, with a warning).
    df
        The table.
    x, y, datum, crs, threads
        See :func:`locate`.
    with_distance
        Signed distance to the nearest part boundary (default True, as in :func:`locate_xy`).
    source
        Name of the table in messages.
    grid
        A prebuilt grid for the frame the rows arrive in (default: the cached grid of the zone).

    Returns
    -------
    LocateResult
        With :attr:`~LocateResult.row_notes` (the reason per invalid row, naming the cell) and the
        input's index: :attr:`~LocateResult.table` is the finished DataFrame. Unpacking it as the
        old tuple ``res, notes = locate_table(…)`` still works for one release, with a warning.
    """
    import geopandas as gpd
    import shapely

    zone, df = _results.zone_first("locate_table", zone, df, new="locate_table(zone, df)")

    # a GeoDataFrame is located by its geometry unless x/y columns are named explicitly
    use_geometry = isinstance(df, gpd.GeoDataFrame) and x is None and y is None
    if use_geometry:
        geoms = df.geometry.to_numpy()
        n = len(geoms)
        xr = np.zeros(n, dtype=np.uint8)
        yr = np.zeros(n, dtype=np.uint8)
        tid = shapely.get_type_id(geoms)
        empty = shapely.is_empty(geoms) | shapely.is_missing(geoms)
        is_point = (tid == 0) & ~empty
        xv = np.full(n, np.nan)
        yv = np.full(n, np.nan)
        if is_point.any():
            xv[is_point] = shapely.get_x(geoms[is_point])
            yv[is_point] = shapely.get_y(geoms[is_point])
        gcrs = df.crs
        use_crs = crs
        if use_crs is None and gcrs is not None and not (gcrs.is_geographic and _crs.normalize_datum(datum) in ("gcj02", "bd09")):
            use_crs = gcrs
        res = locate_xy(zone, xv, yv, datum=datum, crs=use_crs, with_distance=with_distance, threads=threads, grid=grid)
        pre = np.where(empty, R_EMPTY, np.where(~is_point, R_NOT_POINT, R_OK)).astype(np.uint8)
        _mark_invalid(res, pre)
        res.row_notes = res.notes()
        res.index = df.index
        return res
    xc, yc = detect_xy_columns(df.columns, x=x, y=y, source=source)
    xv, xr = parse_coordinates(df[xc])
    yv, yr = parse_coordinates(df[yc])
    res = locate_xy(zone, xv, yv, datum=datum, crs=crs, with_distance=with_distance, threads=threads, grid=grid)
    pre = np.where((xr > 0) | (yr > 0), np.maximum(xr, yr), R_OK).astype(np.uint8)
    _mark_invalid(res, pre)
    res.row_notes = _row_notes(res.reason, df[xc].to_numpy(), df[yc].to_numpy(), str(xc), str(yc), res.datum, xr, yr, xv, yv)
    res.index = df.index
    return res


def _mark_invalid(res: LocateResult, pre: np.ndarray) -> None:
    m = pre > 0
    if m.any():
        res.status[m] = INVALID
        res.part_index[m] = -1
        res.reason[m] = pre[m]
        if res.distance_m is not None:
            res.distance_m[m] = np.nan


def wgs84_points(frame: Frame, x: Any, y: Any, ok: Any) -> np.ndarray:
    """Shapely points in WGS84 (EPSG:4326) for the rows where ``ok`` is true, ``None`` elsewhere.

    ``x``/``y`` are in ``frame`` (:meth:`Frame.to_wgs84`); rows that are not ``ok`` (invalid, not finite)
    keep ``None``, so a vector output has one feature per input row.
    """
    import shapely

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.asarray(ok, dtype=bool) & np.isfinite(x) & np.isfinite(y)
    geoms = np.full(len(x), None, dtype=object)
    if ok.any():
        lon, lat = frame.to_wgs84(x[ok], y[ok])
        geoms[ok] = shapely.points(lon, lat)
    return geoms


#: columns :func:`annotate_table` adds to a located table, in order
XCLZ_COLUMNS = ("xclz_status", "xclz_zone", "xclz_block", "xclz_part", "xclz_distance_m", "xclz_quality", "xclz_note")


def annotate_table(df: Any, res: LocateResult, notes: np.ndarray, *, with_distance: bool = True) -> Any:
    """``df`` with the ``xclz_*`` columns of a located table (:data:`XCLZ_COLUMNS`; existing ones replaced).

    The shape ``xclz-geo locate --input`` writes and :func:`xclz_geo.scale.locate_dask` returns:
    every input column, then status, zone, block, part, signed distance (metres, 2 decimals;
    NaN without distances), the quality label the answer rests on and the note of invalid rows.
    """
    out = df.copy()
    out["xclz_status"] = res.status_labels
    out["xclz_zone"] = res.zone_id
    out["xclz_block"] = res.block_id
    out["xclz_part"] = res.part_id
    if with_distance and res.distance_m is not None:
        out["xclz_distance_m"] = np.round(res.distance_m, 2)
    else:
        out["xclz_distance_m"] = np.nan
    out["xclz_quality"] = res.row_quality
    out["xclz_note"] = notes
    return out


def locate_annotated(
    zone: Any,
    df: Any,
    *,
    x: str | None = None,
    y: str | None = None,
    datum: str = "wgs84",
    crs: Any | None = None,
    with_distance: bool = True,
    threads: int | None = None,
    source: str = "table",
    grid: LocateGrid | None = None,
) -> Any:
    """Locate the rows of a (Geo)DataFrame and return it with the ``xclz_*`` columns (:func:`annotate_table`).

    The in-memory twin of :func:`xclz_geo.scale.locate_dask`: same rows, same columns, same values.
    """
    res = locate_table(zone, df, x=x, y=y, datum=datum, crs=crs, with_distance=with_distance,
                       threads=threads, source=source, grid=grid)
    return annotate_table(df, res, res.row_notes, with_distance=with_distance)


def locate(
    zone: Any,
    points: Any,
    *,
    datum: str = "wgs84",
    crs: Any | None = None,
    x: str | None = None,
    y: str | None = None,
    with_distance: bool = True,
    threads: int | None = None,
) -> "Any":
    """Which part of the zone, if any, each point falls in.

    Parameters
    ----------
    zone
        A :class:`~xclz_geo.boundaries.zone.Zone` with part polygons, first (the old order
        ``locate(points, zone)`` still works for one release, with a :class:`DeprecationWarning`).
    points
        One ``(lon, lat)`` pair; a sequence of pairs or an ``(n, 2)`` array; a DataFrame with
        lon/lat columns (detected: ``lon``/``lng``/``经度``/``x`` and ``lat``/``纬度``/``y``, or named
        with ``x``/``y``); or a GeoDataFrame of points (its CRS is used).
    datum, crs
        Datum tag of lon/lat input (``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``) or the CRS of
        projected input; see :func:`locate_xy`.
    x, y
        Column names in a DataFrame.
    with_distance
        Compute the signed distance to the nearest part boundary (default True, the same in
        :func:`locate_xy` and :func:`locate_table`); ``False`` leaves ``distance_m`` NaN and is
        faster for large batches.
    threads
        Threads for large batches.

    Returns
    -------
    pandas.DataFrame
        One row per input point, in input order (a DataFrame keeps its index), with columns
        ``status`` (``inside`` | ``outside`` | ``uncertain`` | ``invalid``), ``zone_id`` (of a
        many-zone boundaries file, else the spec's zone id), ``block_id``, ``part_id``, ``distance_m`` (signed, positive inside, metres in the zone's
        Gauss-Krüger CRS), ``quality`` (the quality label of the boundary the answer rests
        on, see :attr:`LocateResult.row_quality`) and ``note`` (the reason for ``invalid``).
        A point on a part boundary is inside. (This is :attr:`LocateResult.table`; use
        :func:`locate_table` or :func:`locate_xy` for the result object with ``summary`` and ``layer``.)
    """
    import pandas as pd

    zone, points = _results.zone_first("locate", zone, points, new="locate(zone, points)")
    if isinstance(points, pd.DataFrame):
        return locate_table(zone, points, x=x, y=y, datum=datum, crs=crs, with_distance=with_distance, threads=threads).table
    arr = np.asarray(points, dtype=object if _has_text(points) else float)
    if arr.ndim == 1 and arr.shape[0] == 2 and not _is_pair_sequence(points):
        arr = arr.reshape(1, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise InputDataError(
            f"points must be one (lon, lat) pair, a list of pairs or an (n, 2) array; got shape {arr.shape}"
        )
    df = pd.DataFrame({"x": arr[:, 0], "y": arr[:, 1]})
    res = locate_table(zone, df, x="x", y="y", datum=datum, crs=crs, with_distance=with_distance, threads=threads)
    res.index = None
    return res.table


def _has_text(points: Any) -> bool:
    if isinstance(points, np.ndarray):
        return points.dtype == object or points.dtype.kind in "US"
    try:
        flat = list(points)
    except TypeError:
        return False
    for v in flat:
        if isinstance(v, (list, tuple, np.ndarray)):
            if any(isinstance(w, str) or w is None for w in v):
                return True
        elif isinstance(v, str) or v is None:
            return True
    return False


def _is_pair_sequence(points: Any) -> bool:
    try:
        first = points[0]
    except (TypeError, IndexError, KeyError):
        return False
    return isinstance(first, (list, tuple, np.ndarray))


#: prefix of the columns the toolkit adds to a table (``xclz_status``, ``xclz_part`` …)
RESULT_PREFIX = "xclz_"


def stale_result_names(columns: Iterable[Any], *, prefix: str = RESULT_PREFIX) -> dict[Any, str]:
    """``{column: new name}`` for every column of an input that looks like a result of an earlier run.

    A column whose name starts with ``prefix`` (``xclz_status``, ``xclz_part_id`` …) gets the name
    ``<name>_input`` (``_input2``, ``_input3`` … when taken); columns already renamed this way
    (ending in ``_input`` or ``_input<N>``) are left alone, so a table can go through a command
    any number of times.
    """
    import re

    taken = {str(c) for c in columns}
    out: dict[Any, str] = {}
    for c in columns:
        name = str(c)
        if not name.startswith(prefix) or re.search(r"_input\d*$", name):
            continue
        new, k = f"{name}_input", 2
        while new in taken:
            new, k = f"{name}_input{k}", k + 1
        taken.add(new)
        out[c] = new
    return out


def rename_stale_result_columns(frame: Any, *, source: str = "table") -> tuple[Any, dict[Any, str]]:
    """Rename the ``xclz_*`` columns an input already carries, so results are always recomputed.

    A table that went through ``locate`` (or was edited by hand) may carry ``xclz_status`` and the
    other result columns; they are never trusted: they are kept under a new name
    (:func:`stale_result_names`, e.g. ``xclz_status_input``) and the command writes fresh ones. A
    warning names the file and the columns.

    Returns
    -------
    (frame, renamed)
        The (renamed copy of the) table and ``{old: new}`` (empty when nothing was renamed; the
        frame is then returned as is).
    """
    import warnings

    from xclz_geo.errors import DataQualityWarning

    arrow = hasattr(frame, "schema") and hasattr(frame, "rename_columns")  # a pyarrow Table/RecordBatch
    names = list(frame.schema.names) if arrow else list(frame.columns)
    renamed = stale_result_names(names)
    if not renamed:
        return frame, renamed
    pairs = ", ".join(f"{old} → {new}" for old, new in list(renamed.items())[:6]) + (" …" if len(renamed) > 6 else "")
    warnings.warn(
        f"{source}: column(s) from an earlier run are not trusted and will be recomputed; kept as {pairs}",
        DataQualityWarning,
        stacklevel=2,
    )
    if arrow:
        return frame.rename_columns([renamed.get(n, n) for n in names]), renamed
    return frame.rename(columns=renamed), renamed


__all__ = [
    "LocateResult", "RESULT_PREFIX", "STATUS_LABELS", "XCLZ_COLUMNS", "annotate_table", "detect_xy_columns", "locate",
    "locate_annotated", "locate_table", "locate_xy", "parse_coordinates", "rename_stale_result_columns", "result_frame",
    "stale_result_names", "wgs84_points",
]


# ------------------------------------------------------------------ functional areas (issue 16)


def has_area_geometry(zone: Any) -> bool:
    """True when the zone has at least one functional area with geometry (``zone.areas``)."""
    areas = getattr(zone, "areas", None)
    if areas is None or not len(areas):
        return False
    g = areas.geometry
    return bool((g.notna() & ~g.is_empty).any())


def area_of_points(zone: Any, x: Any, y: Any, *, datum: str = "wgs84", crs: Any | None = None) -> np.ndarray:
    """The functional area(s) each point lies in: ``area_id`` (``;``-joined where areas overlap) or ``None``.

    Points are read as :func:`locate_xy` reads them (lon/lat of ``datum``, or ``crs``); a point on an
    area's outline is in it, as for parts. NaN coordinates give ``None``. A zone without area geometry
    gives ``None`` everywhere.
    """
    import shapely

    from xclz_geo.geo.grid import _FrameMap, make_frame

    fx = np.asarray(x, dtype=float).ravel()
    fy = np.asarray(y, dtype=float).ravel()
    out = np.full(fx.shape[0], None, dtype=object)
    if not has_area_geometry(zone) or not fx.size:
        return out
    areas = zone.areas[zone.areas.geometry.notna() & ~zone.areas.geometry.is_empty].to_crs(zone.gk_crs)
    ok = np.isfinite(fx) & np.isfinite(fy)
    gx = np.full(fx.shape, np.nan)
    gy = np.full(fy.shape, np.nan)
    if ok.any():
        gx[ok], gy[ok] = _FrameMap(make_frame(datum=datum, crs=crs), zone.gk_crs).to_gk(fx[ok], fy[ok])
    for aid, geom in zip(areas["area_id"], areas.geometry):
        shapely.prepare(geom)
        hit = ok & shapely.intersects_xy(geom, np.nan_to_num(gx), np.nan_to_num(gy))
        for i in np.flatnonzero(hit):
            out[i] = str(aid) if out[i] is None else f"{out[i]};{aid}"
    return out
