"""Exact point-in-zone lookup grid (the fast core of :mod:`xclz_geo.geo.locate`).

A :class:`LocateGrid` covers the zone with square cells sized in metres of the
zone's CGCS2000 Gauss-Krüger CRS. Each cell is marked, once, as

* settled: *outside*, *inside part k*, *uncertain inside part k* or *uncertain
  near part k* (wholly inside the band of width ``positional_uncertainty_m``
  around part k's boundary), or
* exact: the cell touches a part boundary or the edge of an uncertainty band;
  points in it go to the exact predicate.

A point in a settled cell is answered by one array lookup; only points in exact
cells are transformed to Gauss-Krüger and tested with ``shapely.intersects_xy``
(covers semantics: a point on the boundary is inside) and ``shapely.dwithin`` on
prepared geometries. The answers are identical to running the exact predicate on
every point.

**The frame.** The grid is laid out in the coordinates the points arrive in (the
*frame*): WGS84/CGCS2000 lon/lat, GCJ-02 or BD-09 lon/lat, or any CRS (e.g. the
Gauss-Krüger CRS itself). Cell sizes are metres on the ground. Building the grid
in the input frame means a point needs no datum conversion or projection at all
unless it falls in an exact cell: projecting 10⁶ lon/lat points with pyproj costs
about as much as ``contains_xy`` itself, and the GCJ-02 inverse eight times more.

**Why it is exact.** Every ring of every part (and of every band) is sampled in
Gauss-Krüger at a spacing of at most a third of a cell (checked in the frame: half
a cell width per axis) and the samples are mapped into the frame. For each pair of
consecutive samples, the cells of the box they span, widened by
:data:`EXACT_MARGIN_CELLS` (1% of a cell) on every side, are marked *exact* (at most
2 × 2 cells a pair). The straight Gauss-Krüger edge between two samples stays inside
that box in any frame (its bend between samples is under a millimetre), so every point
within the margin of the boundary lies in an exact cell; the margin is thousands of
times the rounding error of a point's computed cell index, so a point given the
neighbouring cell by rounding still has that cell's answer. Unmarked cells are
classified by one exact test per run of unmarked cells in each grid row (a run
cannot cross the boundary). Band polygons (``buffer``) approximate arcs by chords;
their segment count keeps the chord error below a twentieth of a cell and the band's
exact margin is widened by 1.5 times that error.

**Refinement.** Each exact cell is split into ``SUB_CELLS × SUB_CELLS`` fine cells, marked by the
same argument one level down (:meth:`_Builder.refine`), so only points in fine cells near a boundary
or band edge reach the exact predicate (a tenth to a fifteenth of those in exact cells). With the
refinement the coarse grid can be coarse (about 10⁶ cells: a 1 MB gather table).

Thread safety: GEOS prepared geometries must not be shared between threads
(libgeos/geos#825; a shared prepared polygon corrupted the heap in 30 of 30 runs on
these machines). :meth:`LocateGrid.geometries` hands each thread its own prepared
copies.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xclz_geo.geo import crs as _crs
from xclz_geo.errors import BoundaryError, DatumError

#: status codes used by :class:`LocateGrid` and :mod:`xclz_geo.geo.locate`
OUTSIDE, INSIDE, UNCERTAIN, INVALID = 0, 1, 2, 3
#: internal marker: the cell needs the exact predicate
EXACT = 255
#: the same marker in the status field of :attr:`LocateGrid.packed`
PACKED_EXACT = 4
#: bits of the status field in :attr:`LocateGrid.packed` (value = part * 8 + status)
PACKED_SHIFT = 3

#: margin (in cells) around the boundary within which cells are marked exact (see ``_Builder.classify``)
EXACT_MARGIN_CELLS = 0.01
#: default target number of cells for the whole grid (memory ≈ 2 bytes a cell)
DEFAULT_TARGET_CELLS = 1_000_000
#: fine cells per side of a coarse cell in the tiles that refine exact cells (:meth:`_Builder.refine`;
#: 0 or 1: no refinement). CPU time per 10⁶ points, same process: 16 × 16 5.80 ms / 6.35 ms (sparse
#: wide-band zone / bundled zone), 8 × 8 6.70 / 6.90 ms; the build takes 0.10–0.14 s instead of 0.06–0.08 s
SUB_CELLS = 16
#: the tiles hold at most this many fine cells in all (memory ≈ 2 bytes each): halve
#: :data:`SUB_CELLS` until they do, no refinement below 2
MAX_FINE_CELLS = 8_000_000
#: bounds of the automatically chosen cell size, metres
MIN_CELL_M = 2.0
MAX_CELL_M = 500.0


# ------------------------------------------------------------------ frames


@dataclass(frozen=True)
class Frame:
    """The coordinates points arrive in: a lon/lat datum tag or a CRS.

    Attributes
    ----------
    datum
        ``"wgs84"`` (also CGCS2000), ``"gcj02"`` or ``"bd09"`` for lon/lat input; ``None`` when ``crs`` is set.
    crs
        A pyproj CRS for any other input (e.g. EPSG:4549 Gauss-Krüger metres); ``None`` for datum frames.
    """

    datum: str | None
    crs: Any = None

    @property
    def key(self) -> str:
        """Cache key of the frame."""
        return f"datum:{self.datum}" if self.datum else f"crs:{self.crs.to_wkt()}"

    @property
    def is_lonlat(self) -> bool:
        """True for lon/lat input (datum frames and geographic CRSs)."""
        return self.datum is not None or bool(self.crs.is_geographic)

    def to_wgs84(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """WGS84 lon/lat of points given in this frame (GCJ-02/BD-09 by the exact inverse, a CRS by pyproj).

        The caller passes valid points only (finite, in range); no in-China check is made here.
        """
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        if not len(x):
            return x.copy(), y.copy()
        if self.datum:
            if self.datum == "wgs84":
                return x.copy(), y.copy()
            lon, lat = _crs.convert_datum(x, y, from_datum=self.datum, to_datum="wgs84", check=False)
        else:
            lon, lat = _crs.transformer(self.crs, _crs.WGS84).transform(x, y)
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)

    def label(self) -> str:
        """Human-readable name, e.g. ``"gcj02 lon/lat"`` or ``"EPSG:4549"``."""
        if self.datum:
            return f"{self.datum} lon/lat"
        epsg = self.crs.to_epsg()
        return f"EPSG:{epsg}" if epsg else self.crs.name


def make_frame(*, datum: str | None = "wgs84", crs: Any | None = None) -> Frame:
    """The :class:`Frame` for a ``datum=``/``crs=`` pair as the public functions take them.

    ``crs`` of WGS84 or CGCS2000 geographic (EPSG:4326/4490) is the same as ``datum="wgs84"``;
    GCJ-02 and BD-09 are lon/lat only and cannot be combined with a projected CRS.

    Raises
    ------
    DatumError
        For an unknown datum tag, or GCJ-02/BD-09 with a projected CRS.
    """
    d = _crs.normalize_datum(datum if datum is not None else "wgs84")
    d = "wgs84" if d == "cgcs2000" else d
    if crs is None:
        return Frame(datum=d)
    c = _crs.to_crs(crs)
    epsg = c.to_epsg()
    if c.is_geographic and epsg in (4326, 4490, 4979, 4480):
        return Frame(datum=d)
    if d != "wgs84":
        raise DatumError(
            f"datum {d} is a lon/lat obfuscation and cannot be combined with CRS {c.name}; "
            "give GCJ-02/BD-09 points as lon/lat without --crs"
        )
    return Frame(datum=None, crs=c)


class _FrameMap:
    """Exact maps between a frame and the zone's Gauss-Krüger CRS (vectorised)."""

    def __init__(self, frame: Frame, gk: Any) -> None:
        self.frame = frame
        self.gk = gk
        if frame.datum:
            self._to_geo = _crs.transformer(gk, _crs.CGCS2000_GEOGRAPHIC)
            self._from_geo = _crs.transformer(_crs.CGCS2000_GEOGRAPHIC, gk)
        else:
            self._to = _crs.transformer(gk, frame.crs)
            self._from = _crs.transformer(frame.crs, gk)

    def to_frame(self, gx: np.ndarray, gy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Gauss-Krüger → frame."""
        if self.frame.datum:
            lon, lat = self._to_geo.transform(gx, gy)
            lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
            if self.frame.datum == "wgs84":
                return lon, lat
            fx, fy = _crs.convert_datum(lon, lat, from_datum="wgs84", to_datum=self.frame.datum, check=False)
            return np.asarray(fx, dtype=float), np.asarray(fy, dtype=float)
        fx, fy = self._to.transform(gx, gy)
        return np.asarray(fx, dtype=float), np.asarray(fy, dtype=float)

    def to_gk(self, fx: np.ndarray, fy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Frame → Gauss-Krüger (datum inverse first for GCJ-02/BD-09)."""
        if self.frame.datum:
            lon, lat = fx, fy
            if self.frame.datum != "wgs84" and len(fx):
                lon, lat = _crs.convert_datum(fx, fy, from_datum=self.frame.datum, to_datum="wgs84", check=False)
            gx, gy = self._from_geo.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        else:
            gx, gy = self._from.transform(fx, fy)
        return np.asarray(gx, dtype=float), np.asarray(gy, dtype=float)


# ------------------------------------------------------------------ geometry helpers


def _copy_prepared(geom: Any) -> Any:
    import shapely

    g = shapely.from_wkb(shapely.to_wkb(geom))
    shapely.prepare(g)
    return g


@dataclass
class _ThreadGeoms:
    parts: list[Any]
    boundaries: list[Any]
    tree: Any = None
    tree_part: np.ndarray | None = None


@dataclass
class PartGeometry:
    """One part as the grid sees it: Gauss-Krüger polygon, its boundary and uncertainty."""

    index: int
    part_id: str
    block_id: str
    geometry: Any  # shapely (Multi)Polygon in GK, or None
    uncertainty_m: float

    @property
    def has_geometry(self) -> bool:
        return self.geometry is not None and not self.geometry.is_empty


# ------------------------------------------------------------------ the grid


@dataclass
class LocateGrid:
    """A lookup grid for one zone geometry in one frame (see the module docstring).

    Attributes
    ----------
    frame
        The input coordinates the grid is laid out in.
    cell_m
        Cell size in metres (ground).
    x0, y0, dx, dy
        Origin (lower-left corner) and cell size in frame units.
    nx, ny
        Number of cells.
    codes
        ``uint8``/``uint16``/``uint32`` array of shape ``(ny, nx)`` (the smallest that holds the
        ``5 K + 2`` codes of ``K`` parts): settled status/part or exact marker.
    status_lut, part_lut, covered_lut
        Per code: status (:data:`EXACT` for exact cells), part index (-1 none; for exact cells the
        single candidate part or -2 for several), whether the drawn polygon covers the cell.
    parts
        The parts in zone order.
    build_seconds
        Wall time of the build.
    sub, tile_cells, fine_codes, fine_packed
        The refinement of the exact cells (``sub = 0``: none): ``tile_cells`` holds the flat index
        of every coarse cell that needs the exact predicate (sorted), ``fine_codes`` (shape
        ``(len(tile_cells), sub * sub)``, row-major within the tile) the codes of its ``sub × sub``
        fine cells, built like the coarse ones, and ``fine_packed`` their packed status and part.
    """

    frame: Frame
    gk: Any
    cell_m: float
    x0: float
    y0: float
    dx: float
    dy: float
    nx: int
    ny: int
    codes: np.ndarray
    status_lut: np.ndarray
    part_lut: np.ndarray
    covered_lut: np.ndarray
    parts: list[PartGeometry]
    build_seconds: float = 0.0
    quality: str | None = None
    part_names_zh: tuple[str, ...] = ()
    packed: np.ndarray | None = None
    sub: int = 0
    tile_cells: np.ndarray | None = None
    fine_codes: np.ndarray | None = None
    fine_packed: np.ndarray | None = None
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def __post_init__(self) -> None:
        if self.packed is None:
            self.packed = pack_codes(self.codes, self.status_lut, self.part_lut)
        if self.fine_codes is not None and self.fine_packed is None:
            self.fine_packed = pack_codes(self.fine_codes, self.status_lut, self.part_lut)

    # -- properties -----------------------------------------------------------------
    @property
    def nbytes(self) -> int:
        """Memory held by the grid arrays, bytes."""
        packed = self.packed.nbytes if self.packed is not None else 0
        fine = sum(a.nbytes for a in (self.tile_cells, self.fine_codes, self.fine_packed) if a is not None)
        return int(self.codes.nbytes + packed + fine + self.status_lut.nbytes + self.part_lut.nbytes
                   + self.covered_lut.nbytes)

    @property
    def exact_fraction(self) -> float:
        """Share of cells that need the exact predicate."""
        return float((self.status_lut[self.codes] == EXACT).mean()) if self.codes.size else 0.0

    @property
    def fine_exact_fraction(self) -> float:
        """Share of the grid's area that still needs the exact predicate after the refinement."""
        if not self.codes.size:
            return 0.0
        if not self.sub or self.fine_codes is None:
            return self.exact_fraction
        fine = float((self.status_lut[self.fine_codes] == EXACT).sum()) / (self.sub * self.sub)
        return fine / float(self.codes.size)

    @property
    def frame_map(self) -> _FrameMap:
        fm = getattr(self, "_fm", None)
        if fm is None:
            fm = _FrameMap(self.frame, self.gk)
            self._fm = fm
        return fm

    def geometries(self) -> _ThreadGeoms:
        """This thread's own prepared copies of the part polygons and boundaries."""
        g = getattr(self._local, "geoms", None)
        if g is None:
            import shapely

            parts = [(_copy_prepared(p.geometry) if p.has_geometry else None) for p in self.parts]
            bnds = [(_copy_prepared(shapely.boundary(p.geometry)) if p.has_geometry else None) for p in self.parts]
            g = _ThreadGeoms(parts=parts, boundaries=bnds)
            self._local.geoms = g
        return g

    def segment_tree(self) -> tuple[Any, np.ndarray]:
        """This thread's STRtree over every boundary segment (for exact distances) and the part of each."""
        import shapely

        g = self.geometries()
        if g.tree is None:
            segs, owner = [], []
            for p in self.parts:
                if not p.has_geometry:
                    continue
                rings = all_rings(p.geometry)
                coords, ring_idx = shapely.get_coordinates(rings, return_index=True)
                same = ring_idx[1:] == ring_idx[:-1]
                a, b = coords[:-1][same], coords[1:][same]
                segs.append(shapely.linestrings(np.stack([a, b], axis=1)))
                owner.append(np.full(len(a), p.index, dtype=np.int32))
            all_segs = np.concatenate(segs) if segs else np.array([], dtype=object)
            g.tree = shapely.STRtree(all_segs)
            g.tree_part = np.concatenate(owner) if owner else np.array([], dtype=np.int32)
        return g.tree, g.tree_part  # type: ignore[return-value]

    # -- lookup ---------------------------------------------------------------------
    def cell_codes(self, fx: np.ndarray, fy: np.ndarray) -> np.ndarray:
        """Grid codes of finite frame coordinates (points off the grid get the outside code 0)."""
        ix = np.subtract(fx, self.x0)
        ix *= 1.0 / self.dx
        np.clip(ix, 0.0, self.nx - 1, out=ix)
        iy = np.subtract(fy, self.y0)
        iy *= 1.0 / self.dy
        np.clip(iy, 0.0, self.ny - 1, out=iy)
        flat = iy.astype(np.intp)
        flat *= self.nx
        flat += ix.astype(np.intp)
        return self.codes.ravel()[flat]


def pack_codes(codes: np.ndarray, status_lut: np.ndarray, part_lut: np.ndarray) -> np.ndarray:
    """The :attr:`LocateGrid.packed` array of a code grid: ``part * 8 + status`` per cell."""
    status = np.where(status_lut == EXACT, PACKED_EXACT, status_lut).astype(np.int64)
    lut = part_lut.astype(np.int64) * (1 << PACKED_SHIFT) + status
    # the smallest signed type: int8 up to 15 parts (a 3.6 M-cell grid then fits the CPU's L3 cache
    # with room to spare; the gather is the one random-access pass of the lookup)
    hi = int(lut.max(initial=0))
    dtype = np.int8 if hi <= 127 else (np.int16 if hi <= np.iinfo(np.int16).max else np.int32)
    return lut.astype(dtype)[codes]


def _cell_size(parts: list[PartGeometry], *, target_cells: int) -> float:
    import shapely

    geoms = [p.geometry for p in parts if p.has_geometry]
    xmin, ymin, xmax, ymax = shapely.total_bounds(np.array(geoms, dtype=object))
    margin = max((p.uncertainty_m for p in parts if p.has_geometry), default=0.0) * 1.1
    area = (xmax - xmin + 2 * margin + 1.0) * (ymax - ymin + 2 * margin + 1.0)
    # the cell size that spends the target number of cells on the zone's extent, but
    # * no coarser than 1/50 of the smallest part's size (small parts get interior cells), and
    # * fine enough that the exact band (1-2 cells wide along every boundary, bands
    #   included) covers at most ~2% of the extent: c <= 0.02 * area / (3 * boundary length)
    c = math.sqrt(area / max(target_cells, 1))
    smallest = min(math.sqrt(max(float(shapely.area(g)), 1.0)) for g in geoms)
    length = sum(float(shapely.length(g)) for g in geoms) * 2.0  # part boundaries and band edges
    c = min(c, smallest / 50.0, 0.02 * area / (3.0 * max(length, 1.0)))
    c = max(c, math.sqrt(area / 5e7))  # hard cap of ~50 M cells
    return float(min(max(c, MIN_CELL_M), MAX_CELL_M))


def _ring_samples(geom: Any, spacing_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Boundary samples (GK) at ≤ spacing along every ring, and each sample's ring index."""
    import shapely

    coords, idx = shapely.get_coordinates(all_rings(shapely.segmentize(geom, spacing_m)), return_index=True)
    return coords, idx


def all_rings(geom: Any) -> np.ndarray:
    """Every ring (exterior and holes) of a Polygon or MultiPolygon, as an array of LinearRings."""
    import shapely

    polys = shapely.get_parts(geom)
    return np.concatenate([shapely.get_rings(polys)]) if len(polys) else np.array([], dtype=object)


def _combine_codes(K: int, inside_first: np.ndarray, unc_first: np.ndarray, touch_count: np.ndarray,
                   touch_part: np.ndarray, exact_part: np.ndarray, exact_band: np.ndarray) -> np.ndarray:
    """Cell codes from the per-part classification (any array shape; see :class:`LocateGrid`)."""
    # codes (K parts):
    #   0          outside
    #   1+k        inside part k
    #   1+K+k      uncertain, inside part k
    #   1+2K+k     uncertain, outside every part, near part k
    #   1+3K+k     uncertain near part k; whether the drawn polygon covers the point is
    #              only needed for the sign of a distance (part boundary inside k's band)
    #   1+4K       exact predicate, several candidate parts
    #   2+4K+k     exact predicate, part k only
    n_codes = 5 * K + 2
    dtype = np.uint8 if n_codes <= 255 else (np.uint16 if n_codes <= 65535 else np.uint32)
    codes = np.zeros(inside_first.shape, dtype=dtype)
    has_in = inside_first >= 0
    has_unc = unc_first >= 0
    m = has_in & ~has_unc
    codes[m] = 1 + inside_first[m]
    m = has_in & has_unc
    codes[m] = 1 + K + inside_first[m]
    m = ~has_in & has_unc
    codes[m] = 1 + 2 * K + unc_first[m]
    exact = exact_part | exact_band
    single = exact & (touch_count == 1)
    codes[exact & ~single] = 1 + 4 * K
    in_band = single & ~exact_band & (unc_first == touch_part)
    codes[in_band] = 1 + 3 * K + touch_part[in_band]
    rest = single & ~in_band
    codes[rest] = 2 + 4 * K + touch_part[rest]
    return codes


class _Builder:
    """Builds one :class:`LocateGrid` (classification of windows, combination of parts)."""

    def __init__(self, parts: list[PartGeometry], frame: Frame, gk: Any, cell_m: float) -> None:
        self.parts = parts
        self.frame = frame
        self.gk = gk
        self.cell_m = cell_m
        self.fmap = _FrameMap(frame, gk)
        geoms = [p.geometry for p in parts if p.has_geometry]
        import shapely

        gx0, gy0, gx1, gy1 = shapely.total_bounds(np.array(geoms, dtype=object))
        cx, cy = (gx0 + gx1) / 2, (gy0 + gy1) / 2
        fx, fy = self.fmap.to_frame(np.array([cx, cx + cell_m, cx]), np.array([cy, cy, cy + cell_m]))
        # frame units of one cell_m on the ground along each frame axis (local Jacobian)
        jx = math.hypot(fx[1] - fx[0], fy[1] - fy[0])
        jy = math.hypot(fx[2] - fx[0], fy[2] - fy[0])
        if not (math.isfinite(jx) and math.isfinite(jy) and jx > 0 and jy > 0):
            raise BoundaryError(f"cannot lay out a lookup grid in {frame.label()} for this zone")
        self.dx, self.dy = jx, jy

    def samples(self, geom: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frame coordinates of boundary samples dense enough for the exactness argument, and their ring."""
        fx, fy, ring, _ = self.samples_gk(geom)
        return fx, fy, ring

    def samples_gk(self, geom: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`samples` and the Gauss-Krüger coordinates of the samples (shape ``(n, 2)``)."""
        spacing = self.cell_m / 3.0
        for _ in range(6):
            coords, ring = _ring_samples(geom, spacing)
            fx, fy = self.fmap.to_frame(coords[:, 0], coords[:, 1])
            same = ring[1:] == ring[:-1]
            ok = True
            if same.any():
                mx = np.abs(np.diff(fx))[same].max()
                my = np.abs(np.diff(fy))[same].max()
                ok = mx <= self.dx / 2 and my <= self.dy / 2
            if ok and np.isfinite(fx).all() and np.isfinite(fy).all():
                return fx, fy, ring, coords
            spacing /= 2.0
        raise BoundaryError(f"cannot sample the zone boundary densely enough in {self.frame.label()}")

    def classify(self, geom: Any, x0: float, y0: float, nx: int, ny: int, *, margin_m: float = 0.0
                 ) -> tuple[np.ndarray, tuple[int, int, int, int]]:
        """Classify cells of the global grid against ``geom`` inside its window.

        Returns ``(cls, (r0, r1, c0, c1))``: ``cls`` is a uint8 array for rows r0:r1 and
        columns c0:c1 with 0 outside, 1 inside, 2 exact. ``margin_m``: how far (metres) the
        true edge may lie from the drawn ``geom`` (the chord error of a buffered band).

        Exact cells: for every pair of consecutive boundary samples (at most half a cell apart
        per axis), the cells of the box spanned by the two samples widened by
        :data:`EXACT_MARGIN_CELLS` (plus ``margin_m``) on each side: at most 2 × 2 cells, and
        together they cover every point within that margin of the boundary. The margin is
        thousands of times the rounding of a point's cell index and the bend of a
        Gauss-Krüger segment between two samples in the frame, so a point in an unmarked
        cell is on the same side of every boundary as that cell's centre.
        """
        import shapely

        fx, fy, ring = self.samples(geom)
        e = EXACT_MARGIN_CELLS + 1.5 * margin_m / self.cell_m
        cx = (fx - x0) / self.dx
        cy = (fy - y0) / self.dy
        clo = np.floor(cx - e).astype(np.int64)
        chi = np.floor(cx + e).astype(np.int64)
        rlo = np.floor(cy - e).astype(np.int64)
        rhi = np.floor(cy + e).astype(np.int64)
        c0 = max(int(clo.min()) - 2, 0)
        c1 = min(int(chi.max()) + 3, nx)
        r0 = max(int(rlo.min()) - 2, 0)
        r1 = min(int(rhi.max()) + 3, ny)
        h, w = r1 - r0, c1 - c0
        same = ring[1:] == ring[:-1]
        pc0 = np.minimum(clo[:-1], clo[1:])[same] - c0
        pc1 = np.maximum(chi[:-1], chi[1:])[same] - c0
        pr0 = np.minimum(rlo[:-1], rlo[1:])[same] - r0
        pr1 = np.maximum(rhi[:-1], rhi[1:])[same] - r0
        span = int(max((pc1 - pc0).max(initial=0), (pr1 - pr0).max(initial=0)))
        exact = np.zeros((h, w), dtype=bool)
        flat = exact.ravel()
        for dr in range(span + 1):
            rr = np.minimum(pr0 + dr, pr1)
            for dc in range(span + 1):
                cc = np.minimum(pc0 + dc, pc1)
                keep = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
                flat[rr[keep] * w + cc[keep]] = True
        # classify runs of non-exact cells in each row by the run's first cell centre
        free = ~exact
        start = free.copy()
        start[:, 1:] &= exact[:, :-1]
        sr, sc = np.nonzero(start)
        cls = np.zeros((h, w), dtype=np.uint8)
        if len(sr):
            px = x0 + (c0 + sc + 0.5) * self.dx
            py = y0 + (r0 + sr + 0.5) * self.dy
            gx, gy = self.fmap.to_gk(px, py)
            g = _copy_prepared(geom)
            res = shapely.intersects_xy(g, gx, gy)
            run_id = np.cumsum(start.ravel()) - 1
            inside = free.ravel() & res[np.maximum(run_id, 0)]
            cls.ravel()[inside] = 1
        cls[exact] = 2
        return cls, (r0, r1, c0, c1)

    def band_geometry(self, p: PartGeometry, cell_m: float | None = None) -> tuple[Any, float]:
        """The uncertainty band polygon of a part and its chord error (metres, below 1/20 cell)."""
        import shapely

        u = p.uncertainty_m
        cell = self.cell_m if cell_m is None else cell_m
        # chord error of a buffer arc: u (1 - cos(pi / (4 q))) < cell / 20
        q = 8
        while u * (1 - math.cos(math.pi / (4 * q))) >= cell / 20 and q < 4096:
            q *= 2
        chord = u * (1 - math.cos(math.pi / (4 * q)))
        return shapely.buffer(shapely.boundary(p.geometry), u, quad_segs=q), chord

    def build(self) -> LocateGrid:
        import time

        import shapely

        t0 = time.perf_counter()
        parts = self.parts
        K = len(parts)
        geo_parts = [p for p in parts if p.has_geometry]
        band_chord = {p.index: self.band_geometry(p) for p in geo_parts if p.uncertainty_m > 0}
        bands = {k: v[0] for k, v in band_chord.items()}
        # global extent: every part and band sample, plus a margin of 4 cells
        xs, ys = [], []
        for p in geo_parts:
            g = bands.get(p.index, p.geometry)
            env = shapely.envelope(g)
            fx, fy, _ = self.samples(env)
            xs += [fx.min(), fx.max()]
            ys += [fy.min(), fy.max()]
        x0 = min(xs) - 4 * self.dx
        y0 = min(ys) - 4 * self.dy
        nx = int(math.ceil((max(xs) + 4 * self.dx - x0) / self.dx)) + 1
        ny = int(math.ceil((max(ys) + 4 * self.dy - y0) / self.dy)) + 1
        inside_first = np.full((ny, nx), -1, dtype=np.int32)
        unc_first = np.full((ny, nx), -1, dtype=np.int32)
        touch_count = np.zeros((ny, nx), dtype=np.uint16)
        touch_part = np.full((ny, nx), -1, dtype=np.int32)
        exact_part = np.zeros((ny, nx), dtype=bool)  # a part boundary passes through
        exact_band = np.zeros((ny, nx), dtype=bool)  # a band's outer edge passes through
        for p in geo_parts:
            cls, (r0, r1, c0, c1) = self.classify(p.geometry, x0, y0, nx, ny)
            touched = cls > 0
            if p.index in bands:
                bcls, (b0, b1, d0, d1) = self.classify(bands[p.index], x0, y0, nx, ny,
                                                       margin_m=band_chord[p.index][1])
                # bring both onto the union of their windows
                u0, u1, v0, v1 = min(r0, b0), max(r1, b1), min(c0, d0), max(c1, d1)
                full = np.zeros((u1 - u0, v1 - v0), dtype=np.uint8)
                full[r0 - u0 : r1 - u0, c0 - v0 : c1 - v0] = cls
                bfull = np.zeros_like(full)
                bfull[b0 - u0 : b1 - u0, d0 - v0 : d1 - v0] = bcls
                cls, bcls, (r0, r1, c0, c1) = full, bfull, (u0, u1, v0, v1)
                touched = (cls > 0) | (bcls > 0)
                ub = unc_first[r0:r1, c0:c1]
                ub[(bcls == 1) & (ub < 0)] = p.index
                exact_band[r0:r1, c0:c1] |= bcls == 2
            win_in = inside_first[r0:r1, c0:c1]
            win_in[(cls == 1) & (win_in < 0)] = p.index
            exact_part[r0:r1, c0:c1] |= cls == 2
            tc = touch_count[r0:r1, c0:c1]
            tp = touch_part[r0:r1, c0:c1]
            tc[touched] += 1
            tp[touched] = p.index
        codes = _combine_codes(K, inside_first, unc_first, touch_count, touch_part, exact_part, exact_band)
        n_codes = 5 * K + 2
        status_lut = np.full(n_codes, OUTSIDE, dtype=np.uint8)
        part_lut = np.full(n_codes, -1, dtype=np.int32)
        covered_lut = np.zeros(n_codes, dtype=np.uint8)  # 0 no, 1 yes, 2 unknown (exact test)
        ks = np.arange(K)
        status_lut[1 + ks] = INSIDE
        status_lut[1 + K + ks] = UNCERTAIN
        status_lut[1 + 2 * K + ks] = UNCERTAIN
        status_lut[1 + 3 * K + ks] = UNCERTAIN
        status_lut[1 + 4 * K :] = EXACT
        for off in (1, 1 + K, 1 + 2 * K, 1 + 3 * K, 2 + 4 * K):
            part_lut[off + ks] = ks
        part_lut[1 + 4 * K] = -2
        covered_lut[1 : 1 + 2 * K] = 1
        covered_lut[1 + 3 * K :] = 2
        fine = self.refine(codes, status_lut, geo_parts, x0, y0, nx, ny, K)
        sub, tile_cells, fine_codes = fine if fine is not None else (0, None, None)
        return LocateGrid(
            frame=self.frame, gk=self.gk, cell_m=self.cell_m, x0=x0, y0=y0, dx=self.dx, dy=self.dy,
            nx=nx, ny=ny, codes=codes, status_lut=status_lut, part_lut=part_lut, covered_lut=covered_lut,
            parts=parts, build_seconds=time.perf_counter() - t0, sub=sub, tile_cells=tile_cells,
            fine_codes=fine_codes,
        )

    # -- refinement of the exact cells -------------------------------------------------------
    def refine(self, codes: np.ndarray, status_lut: np.ndarray, geo_parts: list[PartGeometry], x0: float,
               y0: float, nx: int, ny: int, K: int) -> tuple[int, np.ndarray, np.ndarray] | None:
        """Split every exact cell into ``SUB_CELLS²`` fine cells and classify them like the coarse ones.

        The same argument as for the coarse cells, one level down: a fine cell is *exact* when a
        boundary (or band edge) passes within 1% of a fine cell of it, otherwise every point in
        it is on the same side of every boundary as its centre, which one exact test per run of
        free fine cells in each tile row decides. The boundary samples of the coarse build (at
        most a third of a coarse cell apart, mapped to the frame exactly) are subdivided in the
        frame to at most half a fine cell per axis; the frame image of a Gauss-Krüger segment
        bends away from that straight subdivision by at most the bend measured at the pair
        midpoints, and twice that bend is added to the margin. Bands are re-buffered with a
        chord error below a twentieth of a fine cell. The centres tested are placed in
        Gauss-Krüger by bilinear interpolation of each tile's exactly projected corners, checked
        against the exact projection of the tile centres (an error of 1% of a fine cell, far
        below the half cell a tested centre keeps from every boundary, falls back to projecting
        every tested centre exactly).

        Returns ``(sub, tile_cells, fine_codes)`` or ``None`` (nothing to refine, or too many
        fine cells).
        """
        import shapely

        S = int(SUB_CELLS)
        tile_cells = np.flatnonzero(status_lut[codes.ravel()] == EXACT)
        T = int(tile_cells.size)
        while S >= 2 and T * S * S > MAX_FINE_CELLS:  # long boundaries: fewer fine cells a tile
            S //= 2
        if S < 2 or T == 0:
            return None
        fdx, fdy, fcell = self.dx / S, self.dy / S, self.cell_m / S
        tile_of_cell = np.full(nx * ny, -1, dtype=np.int32)  # build-time only (4 bytes a coarse cell)
        tile_of_cell[tile_cells] = np.arange(T, dtype=np.int32)
        SS = S * S
        nf = T * SS
        tr, tc = tile_cells // nx, tile_cells % nx
        # Gauss-Krüger of every fine cell centre: bilinear in each tile's exactly projected corners
        X = x0 + tc * self.dx
        Y = y0 + tr * self.dy
        cx = np.concatenate([X, X + self.dx, X, X + self.dx, X + self.dx / 2])
        cy = np.concatenate([Y, Y, Y + self.dy, Y + self.dy, Y + self.dy / 2])
        gcx, gcy = self.fmap.to_gk(cx, cy)
        c = [(gcx[i * T:(i + 1) * T], gcy[i * T:(i + 1) * T]) for i in range(5)]
        # per tile and axis: g(u, v) = a + u b + v d + u v e (u along x, v along y, both in [0, 1])
        coef = [(c[0][k], c[1][k] - c[0][k], c[2][k] - c[0][k], c[3][k] - c[1][k] - c[2][k] + c[0][k]) for k in (0, 1)]
        gmid = np.stack([c[4][0], c[4][1]], axis=1)
        u = (np.arange(S) + 0.5) / S
        uu = np.tile(u, S)  # column within the tile (x)
        vv = np.repeat(u, S)  # row within the tile (y)

        def bilinear(ua: np.ndarray, va: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            out = []
            for a, b, d, e in coef:
                out.append(a[t] + ua * b[t] + va * (d[t] + ua * e[t]))
            return out[0], out[1]

        mid = bilinear(np.full(T, 0.5), np.full(T, 0.5), np.arange(T))
        err = float(np.nanmax(np.hypot(mid[0] - gmid[:, 0], mid[1] - gmid[:, 1]))) if T else 0.0
        interp_ok = bool(np.isfinite(gcx).all() and np.isfinite(gcy).all() and err <= 0.01 * fcell)

        def centres_gk(flat_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            t = flat_idx // SS
            w = flat_idx % SS
            if interp_ok:
                return bilinear(uu[w], vv[w], t)
            fxc = x0 + (tc[t] * S + w % S + 0.5) * fdx
            fyc = y0 + (tr[t] * S + w // S + 0.5) * fdy
            return self.fmap.to_gk(fxc, fyc)

        def classify(geom: Any, margin_m: float) -> np.ndarray:
            """0 outside, 1 inside, 2 exact for every fine cell (flat, tile-major)."""
            fx, fy, ring, gk = self.samples_gk(geom)
            same = ring[1:] == ring[:-1]
            # bend of the frame image of each GK segment between two samples, at its midpoint
            bend = 0.0
            if same.any():
                mgx = (gk[:-1, 0] + gk[1:, 0])[same] / 2
                mgy = (gk[:-1, 1] + gk[1:, 1])[same] / 2
                mfx, mfy = self.fmap.to_frame(mgx, mgy)
                lfx = (fx[:-1] + fx[1:])[same] / 2
                lfy = (fy[:-1] + fy[1:])[same] / 2
                bend = float(max(np.abs(mfx - lfx).max() / fdx, np.abs(mfy - lfy).max() / fdy))
            # subdivide each pair to at most half a fine cell per axis
            k = np.ones(fx.shape[0], dtype=np.int64)
            if same.any():
                steps = np.maximum(np.abs(np.diff(fx)) / (fdx / 2), np.abs(np.diff(fy)) / (fdy / 2))
                k[:-1][same] = np.maximum(np.ceil(steps[same]).astype(np.int64), 1)
            owner = np.repeat(np.arange(fx.shape[0]), k)
            j = np.arange(owner.shape[0]) - np.repeat(np.cumsum(k) - k, k)
            tt = j / k[owner]
            nxt = np.minimum(owner + 1, fx.shape[0] - 1)
            sx = fx[owner] + tt * (fx[nxt] - fx[owner])
            sy = fy[owner] + tt * (fy[nxt] - fy[owner])
            sring = ring[owner]
            e = EXACT_MARGIN_CELLS + 1.5 * margin_m / fcell + 2.0 * bend + 1e-9
            gx_ = (sx - x0) / fdx
            gy_ = (sy - y0) / fdy
            clo = np.floor(gx_ - e).astype(np.int64)
            chi = np.floor(gx_ + e).astype(np.int64)
            rlo = np.floor(gy_ - e).astype(np.int64)
            rhi = np.floor(gy_ + e).astype(np.int64)
            ps = sring[1:] == sring[:-1]
            pc0 = np.minimum(clo[:-1], clo[1:])[ps]
            pc1 = np.maximum(chi[:-1], chi[1:])[ps]
            pr0 = np.minimum(rlo[:-1], rlo[1:])[ps]
            pr1 = np.maximum(rhi[:-1], rhi[1:])[ps]
            span = int(max((pc1 - pc0).max(initial=0), (pr1 - pr0).max(initial=0)))
            # tiles near the geometry (its frame extent widened by a coarse cell and the margin); the
            # others are outside it. Marks in coarse cells that are not tiles are dropped: such a cell is
            # settled at the coarse level, whose answer holds for every point in it
            px, py = self.dx * (1.0 + e / S), self.dy * (1.0 + e / S)
            near = np.flatnonzero((X + self.dx >= fx.min() - px) & (X <= fx.max() + px)
                                  & (Y + self.dy >= fy.min() - py) & (Y <= fy.max() + py))
            cls = np.zeros(nf, dtype=np.uint8)
            tn = int(near.size)
            if tn == 0:
                return cls
            local = np.full(T, -1, dtype=np.int32)
            local[near] = np.arange(tn, dtype=np.int32)
            exact = np.zeros(tn * SS, dtype=bool)
            for dr in range(span + 1):
                rr = np.minimum(pr0 + dr, pr1)
                for dc in range(span + 1):
                    cc = np.minimum(pc0 + dc, pc1)
                    keep = (rr >= 0) & (cc >= 0) & (rr < ny * S) & (cc < nx * S)
                    R, C = rr[keep], cc[keep]
                    t = tile_of_cell[(R // S) * nx + C // S]
                    lt = local[np.maximum(t, 0)]
                    hit = (t >= 0) & (lt >= 0)
                    exact[lt[hit].astype(np.int64) * SS + (R[hit] % S) * S + C[hit] % S] = True
            ex3 = exact.reshape(tn, S, S)
            free = ~ex3
            start = free.copy()
            start[:, :, 1:] &= ex3[:, :, :-1]
            sflat = start.ravel()
            si = np.flatnonzero(sflat)
            lcls = np.zeros(tn * SS, dtype=np.uint8)
            if si.size:
                glob = near[si // SS] * SS + si % SS
                gx, gy = centres_gk(glob)
                g = _copy_prepared(geom)
                res = shapely.intersects_xy(g, gx, gy)
                run_id = np.cumsum(sflat) - 1
                lcls[free.ravel() & res[np.maximum(run_id, 0)]] = 1
            lcls[exact] = 2
            cls.reshape(T, SS)[near] = lcls.reshape(tn, SS)
            return cls

        inside_first = np.full(nf, -1, dtype=np.int32)
        unc_first = np.full(nf, -1, dtype=np.int32)
        touch_count = np.zeros(nf, dtype=np.uint16)
        touch_part = np.full(nf, -1, dtype=np.int32)
        exact_part = np.zeros(nf, dtype=bool)
        exact_band = np.zeros(nf, dtype=bool)
        for p in geo_parts:
            cls = classify(p.geometry, 0.0)
            touched = cls > 0
            if p.uncertainty_m > 0:
                band, chord = self.band_geometry(p, fcell)
                bcls = classify(band, chord)
                touched |= bcls > 0
                unc_first[(bcls == 1) & (unc_first < 0)] = p.index
                exact_band |= bcls == 2
            inside_first[(cls == 1) & (inside_first < 0)] = p.index
            exact_part |= cls == 2
            touch_count[touched] += 1
            touch_part[touched] = p.index
        fine_codes = _combine_codes(K, inside_first, unc_first, touch_count, touch_part, exact_part, exact_band)
        return S, tile_cells.astype(np.int64), fine_codes.reshape(T, SS)


# ------------------------------------------------------------------ building and caching


def zone_key(zone: Any) -> str:
    """Cache key of a zone's geometry and uncertainties, computed afresh on every call.

    Not the zone's cached ``geometry_hash``: a zone whose ``parts`` were replaced or
    edited in place gets a new key, and so does a change of ``positional_uncertainty_m``
    or of a part's block. Cheap (one vectorised WKB export and a SHA-256).
    """
    import hashlib

    import shapely

    parts = zone.parts
    crs = parts.crs
    h = hashlib.sha256(crs.srs.encode() if crs is not None else b"no crs")
    for w in shapely.to_wkb(np.asarray(parts.geometry.values, dtype=object)):
        h.update(b"\0" if w is None else w)
    for col in ("part_id", "block_id", "positional_uncertainty_m"):
        h.update(repr(parts[col].to_numpy().tolist()).encode())
    return h.hexdigest()


def zone_part_geometries(zone: Any) -> tuple[list[PartGeometry], Any]:
    """The zone's parts in its Gauss-Krüger CRS (projected afresh), and that CRS."""
    parts_gk = zone.parts.to_crs(zone.gk_crs) if zone.parts.crs is not None else zone.parts
    u = [float(v) if v == v else 0.0 for v in zone.parts["positional_uncertainty_m"]]
    parts = [
        PartGeometry(index=i, part_id=str(pid), block_id=str(bid), geometry=geom, uncertainty_m=max(uu, 0.0))
        for i, (pid, bid, geom, uu) in enumerate(zip(zone.parts["part_id"], zone.parts["block_id"], parts_gk.geometry, u))
    ]
    return parts, zone.gk_crs


_CACHE: dict[tuple[str, str, float | None], LocateGrid] = {}
_CACHE_ORDER: list[tuple[str, str, float | None]] = []
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8


def build_grid(
    zone: Any,
    *,
    frame: Frame | None = None,
    cell_m: float | None = None,
    target_cells: int = DEFAULT_TARGET_CELLS,
    cache: bool = True,
) -> LocateGrid:
    """The lookup grid of a zone for points in ``frame`` (built once, cached per zone geometry).

    Parameters
    ----------
    zone
        A :class:`~xclz_geo.boundaries.zone.Zone` with at least one part polygon.
    frame
        Input coordinates (:func:`make_frame`); default WGS84 lon/lat.
    cell_m
        Cell size in metres; default chosen from the zone's extent and part sizes
        (about ``target_cells`` cells, between 2 m and 500 m).
    cache
        Reuse a grid built for the same geometry, uncertainties, frame and cell size.

    Raises
    ------
    BoundaryError
        When no part has a polygon.
    """
    frame = frame or make_frame()
    ck = (zone_key(zone), frame.key, cell_m, target_cells)
    if cache:
        with _CACHE_LOCK:
            hit = _CACHE.get(ck)  # type: ignore[arg-type]
        if hit is not None:
            return hit
    parts, gk = zone_part_geometries(zone)
    if not any(p.has_geometry for p in parts):
        raise BoundaryError(
            "the zone has no part polygons to locate points in; give a boundaries file (--boundaries FILE) "
            "or build data/boundaries/zone.geojson"
        )
    size = float(cell_m) if cell_m is not None else _cell_size(parts, target_cells=target_cells)
    if not (math.isfinite(size) and size > 0):
        raise ValueError(f"cell_m must be a positive number of metres, got {cell_m!r}")
    disk_key = _disk_key(ck, gk, size) if cache else None
    grid = _load_grid(disk_key, frame, gk, parts) if disk_key else None
    if grid is None:
        grid = _Builder(parts, frame, gk, size).build()
        if disk_key:
            _store_grid(disk_key, grid)
    grid.quality = getattr(zone, "worst_quality", None)
    names = zone.parts["name_zh"] if "name_zh" in zone.parts.columns else zone.parts["part_id"]
    grid.part_names_zh = tuple(str(v) for v in names)
    if cache:
        with _CACHE_LOCK:
            _CACHE[ck] = grid  # type: ignore[index]
            _CACHE_ORDER.append(ck)  # type: ignore[arg-type]
            while len(_CACHE_ORDER) > _CACHE_SIZE:
                _CACHE.pop(_CACHE_ORDER.pop(0), None)
    return grid


#: the arrays of a grid kept in the on-disk cache (:mod:`xclz_geo.geo.cache`)
_GRID_ARRAYS = ("codes", "status_lut", "part_lut", "covered_lut", "packed")
_GRID_SCALARS = ("cell_m", "x0", "y0", "dx", "dy", "nx", "ny")
#: the refinement's arrays, kept when the grid has one (``sub`` in the entry's meta)
_FINE_ARRAYS = ("tile_cells", "fine_codes", "fine_packed")


def _disk_key(ck: tuple, gk: Any, size: float) -> str | None:
    """Key of a grid in the on-disk cache: zone geometry key, frame, cell size, GK CRS, code version."""
    from xclz_geo.geo import cache as _cache

    if _cache.cache_dir() is None:
        return None
    return _cache.entry_key("grid", ck[0], ck[1], repr(float(size)), gk.to_wkt() if hasattr(gk, "to_wkt") else str(gk))


def _load_grid(key: str, frame: Frame, gk: Any, parts: list[PartGeometry]) -> LocateGrid | None:
    """A grid from the on-disk cache (arrays memory-mapped, read-only), or ``None``."""
    import time

    from xclz_geo.geo import cache as _cache

    t0 = time.perf_counter()

    def build(meta: dict[str, Any], arrays: dict[str, Any]) -> LocateGrid:
        if meta.get("parts") != len(parts) or any(n not in arrays for n in _GRID_ARRAYS):
            raise ValueError("grid entry")
        codes = arrays["codes"]
        if codes.shape != (int(meta["ny"]), int(meta["nx"])) or arrays["packed"].shape != codes.shape:
            raise ValueError("grid entry")
        sub = int(meta.get("sub", 0))
        fine: dict[str, Any] = {"sub": 0}
        if sub:
            if any(n not in arrays for n in _FINE_ARRAYS):
                raise ValueError("grid entry")
            t = arrays["tile_cells"].shape[0]
            if arrays["fine_codes"].shape != (t, sub * sub) or arrays["fine_packed"].shape != (t, sub * sub):
                raise ValueError("grid entry")
            fine = {"sub": sub, **{n: arrays[n] for n in _FINE_ARRAYS}}
        return LocateGrid(
            frame=frame, gk=gk, cell_m=float(meta["cell_m"]), x0=float(meta["x0"]), y0=float(meta["y0"]),
            dx=float(meta["dx"]), dy=float(meta["dy"]), nx=int(meta["nx"]), ny=int(meta["ny"]), codes=codes,
            status_lut=np.asarray(arrays["status_lut"]), part_lut=np.asarray(arrays["part_lut"]),
            covered_lut=np.asarray(arrays["covered_lut"]), parts=parts, packed=arrays["packed"],
            build_seconds=time.perf_counter() - t0, **fine,
        )

    return _cache.load_valid(key, build, errors=(KeyError, TypeError, ValueError))


def _store_grid(key: str, grid: LocateGrid) -> None:
    from xclz_geo.geo import cache as _cache

    meta = {k: getattr(grid, k) for k in _GRID_SCALARS}
    meta = {k: (int(v) if k in ("nx", "ny") else float(v)) for k, v in meta.items()}
    meta["parts"] = len(grid.parts)
    meta["sub"] = int(grid.sub or 0)
    arrays = {k: getattr(grid, k) for k in _GRID_ARRAYS}
    if meta["sub"]:
        arrays.update({k: getattr(grid, k) for k in _FINE_ARRAYS})
    _cache.store_entry(key, meta, arrays)


def clear_cache() -> None:
    """Forget every cached grid (in memory; the on-disk cache: :func:`xclz_geo.geo.cache.clear_cache`)."""
    with _CACHE_LOCK:
        _CACHE.clear()
        _CACHE_ORDER.clear()


def cache_size() -> int:
    """Number of grids in the cache."""
    return len(_CACHE)


__all__ = [
    "EXACT", "INSIDE", "INVALID", "OUTSIDE", "UNCERTAIN", "Frame", "LocateGrid", "PartGeometry",
    "build_grid", "cache_size", "clear_cache", "make_frame", "zone_key", "zone_part_geometries",
]

