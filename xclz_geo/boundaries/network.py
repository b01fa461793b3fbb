"""Line networks (roads, rivers, railways) and name matching for the digitizer.

:func:`load_network` reads any vector file GDAL reads — GeoJSON, GeoPackage, Shapefile
(GBK or UTF-8 attributes), DXF (names from a chosen field, e.g. ``Layer``), FlatGeobuf,
GeoParquet — and OpenStreetMap data (``.osm`` XML and ``.osm.pbf`` through GDAL's OSM
driver, reading ``name``, ``name:zh``, ``alt_name``, ``old_name``, ``official_name`` and
``ref`` from the tags), keeps only line features (highway/waterway/railway for OSM), and
returns a GeoDataFrame with the normalised columns of :data:`NETWORK_COLUMNS`:

``feature_id``
    Unique text id (``way/123`` for OSM, the file's id column, or the row number).
``name``
    Primary name (``""`` when unnamed).
``alt_names``
    Other names separated by ``;`` (OSM's convention for several values), ``""`` when none.
``ref``
    Route numbers separated by ``;`` (``G318``), normalised (upper case, no spaces).
``kind``
    ``road``, ``water``, ``rail`` or ``unknown``.

The CRS of the file is kept (a file without one, e.g. DXF, needs ``crs=``).

Matching (:class:`NetworkIndex`) ranks **exact** name matches above **normalised** ones
(full-width → half-width, spaces removed, bracketed qualifiers such as ``(北段)`` dropped),
then **ref** matches (``318国道`` ↔ ``ref=G318``), then **fuzzy** ones (string similarity).
Every match says how it was made; fuzzy matches are reported in the record and warned
about with :class:`~xclz_geo.errors.DataQualityWarning`, never used silently, and can be
switched off (``allow_fuzzy=False``). An unresolved name raises
:class:`~xclz_geo.errors.NameNotResolvedError` listing the nearest names in the network.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

from xclz_geo.errors import CRSError, DataQualityWarning, InputDataError, InputFileError, NameNotResolvedError
from xclz_geo.boundaries.sizhi import FeatureRef, guess_kind, parse_ref

if TYPE_CHECKING:
    import geopandas as gpd

#: columns every network frame has (besides geometry)
NETWORK_COLUMNS = ("feature_id", "name", "alt_names", "ref", "kind")

#: candidate name columns, tried in order when ``name_field`` is not given
NAME_FIELDS = ("name", "name:zh", "name_zh", "NAME", "Name", "名称", "道路名称", "路名", "河流名称", "河名",
               "ROADNAME", "RoadName", "road_name", "MC", "NAME_CHN", "name_chn")
#: columns read as alternative names
ALT_NAME_FIELDS = ("name:zh", "name:zh-Hans", "alt_name", "old_name", "official_name", "loc_name", "short_name",
                   "alt_name:zh", "name_zh", "别名", "曾用名")
#: columns read as route numbers
REF_FIELDS = ("ref", "REF", "Ref", "road_ref", "路线编号", "编号", "nat_ref", "int_ref")
#: columns read as feature kind (values road/water/rail or OSM keys)
KIND_FIELDS = ("kind", "KIND", "type", "class", "fclass", "类型")
#: id columns tried in order
ID_FIELDS = ("feature_id", "id", "ID", "fid", "FID", "osm_id", "OBJECTID", "objectid", "EntityHandle")

#: fuzzy matches below this similarity (0–1) are not used
FUZZY_MIN_SCORE = 0.75

_OSM_SUFFIXES = (".osm", ".pbf", ".osm.pbf")
_HSTORE_RE = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')
_WATER_VALUES = {"water", "river", "stream", "canal", "drain", "ditch", "waterway", "水系", "河流", "水域"}
_RAIL_VALUES = {"rail", "railway", "light_rail", "subway", "铁路"}
_ROAD_VALUES = {"road", "highway", "street", "道路", "公路"}
_REF_TOKEN = re.compile(r"^[A-Z]{0,2}\d{1,5}[A-Z]?$")


# ------------------------------------------------------------------ names


def normalize_name(name: Any) -> str:
    """Normalised form of a feature name for matching.

    Full-width → half-width (NFKC), whitespace and ``·`` removed, Latin letters upper-cased,
    bracketed qualifiers dropped (``滨江大道(北段)`` → ``滨江大道``). ``None``/NaN → ``""``.
    """
    if name is None or (isinstance(name, float) and name != name):
        return ""
    s = unicodedata.normalize("NFKC", str(name))
    s = re.sub(r"[\s·•・]+", "", s)
    s = re.sub(r"[(\[【〔].*?[)\]】〕]", "", s)
    return s.upper()


def normalize_ref(ref: Any) -> list[str]:
    """Route numbers in a ref value: ``"G 318;S215"`` → ``["G318", "S215"]``."""
    if ref is None or (isinstance(ref, float) and ref != ref):
        return []
    s = unicodedata.normalize("NFKC", str(ref)).upper()
    out = []
    for tok in re.split(r"[;,/、]", s):
        tok = re.sub(r"\s+", "", tok)
        if tok and _REF_TOKEN.match(tok):
            out.append(tok)
        elif tok:
            r = parse_ref(tok)
            if r:
                out.append(r)
    return out


def _split_multi(v: Any) -> list[str]:
    if v is None or (isinstance(v, float) and v != v):
        return []
    return [p.strip() for p in str(v).split(";") if p.strip()]


def parse_hstore(text: Any) -> dict[str, str]:
    """Parse GDAL's ``other_tags`` (``"k"=>"v","k2"=>"v2"``) into a dict."""
    if not isinstance(text, str) or not text:
        return {}
    return {k.replace('\\"', '"'): v.replace('\\"', '"') for k, v in _HSTORE_RE.findall(text)}


# ------------------------------------------------------------------ loading


def _is_osm(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(_OSM_SUFFIXES)


def _read_osm(path: Path, *, layer: str | None, name_key: str | None = None) -> "gpd.GeoDataFrame":
    import geopandas as gpd
    import pandas as pd

    from xclz_geo.io import read_vector

    layers = [layer] if layer else ["lines", "multilinestrings"]
    frames = []
    for lyr in layers:
        try:
            gdf = read_vector(path, layer=lyr)
        except InputFileError:
            if layer:
                raise
            continue
        if gdf.empty:
            continue
        tags = [parse_hstore(v) for v in gdf["other_tags"]] if "other_tags" in gdf.columns else [{} for _ in range(len(gdf))]

        def col(key: str) -> list[Any]:
            if key in gdf.columns:
                base = gdf[key].tolist()
                return [b if isinstance(b, str) and b else t.get(key) for b, t in zip(base, tags)]
            return [t.get(key) for t in tags]

        highway, waterway, railway = col("highway"), col("waterway"), col("railway")
        typ = col("type")
        route = col("route")
        kinds = []
        for h, w, r, ty, ro in zip(highway, waterway, railway, typ, route):
            if h:
                kinds.append("road")
            elif r:
                kinds.append("rail")
            elif w or ty == "waterway":
                kinds.append("water")
            elif ty == "route" and ro in ("road",):
                kinds.append("road")
            elif ty == "route" and ro in ("railway", "train"):
                kinds.append("rail")
            else:
                kinds.append(None)
        names = col(name_key or "name")
        prefix = "way" if lyr == "lines" else "relation"
        plain_names = col("name") if name_key else [None] * len(tags)
        alt = []
        for i, t in enumerate(tags):
            vals: list[str] = _split_multi(plain_names[i])
            for k in ("name:zh", "name:zh-Hans", "alt_name", "old_name", "official_name", "loc_name", "short_name", "alt_name:zh"):
                vals.extend(_split_multi(t.get(k)))
            if not names[i] and vals:
                names[i] = vals[0]
            alt.append(";".join(dict.fromkeys(v for v in vals if v != names[i])))
        refs = [";".join(normalize_ref(r)) for r in col("ref")]
        out = gpd.GeoDataFrame(
            {
                "feature_id": [f"{prefix}/{i}" for i in gdf["osm_id"].astype(str)],
                "name": [n or "" for n in names],
                "alt_names": alt,
                "ref": refs,
                "kind": kinds,
            },
            geometry=gdf.geometry.values,
            crs=gdf.crs,
        )
        frames.append(out[out["kind"].notna()])
    if not frames:
        raise InputDataError(f"{path}: no highway, waterway or railway lines in this OSM file")
    gdf = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(gdf, geometry="geometry", crs=frames[0].crs)


def _pick(columns: Sequence[str], candidates: Iterable[str]) -> str | None:
    cols = set(columns)
    for c in candidates:
        if c in cols:
            return c
    return None


def _kind_value(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    s = str(v).strip().lower()
    if s in ("road", "water", "rail", "unknown"):
        return s
    if s in _WATER_VALUES:
        return "water"
    if s in _RAIL_VALUES:
        return "rail"
    if s in _ROAD_VALUES:
        return "road"
    return None


def normalize_network(
    gdf: "gpd.GeoDataFrame",
    *,
    name_field: str | None = None,
    ref_field: str | None = None,
    kind_field: str | None = None,
    default_kind: str = "unknown",
    source: str = "network",
) -> "gpd.GeoDataFrame":
    """Bring any line GeoDataFrame into the network schema (:data:`NETWORK_COLUMNS` + geometry).

    Parameters
    ----------
    gdf
        Lines with a name column; polygons contribute their outlines, points are dropped.
    name_field
        Column holding the names (default: the first of :data:`NAME_FIELDS` present).
    ref_field
        Column holding route numbers (default: the first of :data:`REF_FIELDS` present).
    kind_field
        Column holding the kind (``road``/``water``/``rail``; OSM keys ``highway``/``waterway``/
        ``railway`` are recognised too). Without it the kind is guessed from the name.
    default_kind
        Kind of features whose kind cannot be told (``unknown`` matches any kind).
    source
        Name of the input used in messages.

    Raises
    ------
    InputDataError
        When the name field is missing (the message lists the columns) or no line is left.
    """
    import geopandas as gpd

    if gdf.crs is None:
        raise CRSError(f"{source}: the network has no CRS; pass crs='EPSG:4549' (or the CRS of the drawing)")
    cols = [c for c in gdf.columns if c != gdf.geometry.name]
    if set(NETWORK_COLUMNS) <= set(cols) and name_field is None:
        out = gdf[list(NETWORK_COLUMNS) + [gdf.geometry.name]].copy()
        out = out.rename_geometry("geometry") if gdf.geometry.name != "geometry" else out
        for c in ("name", "alt_names", "ref"):
            out[c] = out[c].fillna("").astype(str)
        out["kind"] = out["kind"].fillna("unknown").astype(str)
        out["feature_id"] = out["feature_id"].astype(str)
        return _clean_geometries(out, source=source)
    nf = name_field or _pick(cols, NAME_FIELDS)
    if nf is None or nf not in cols:
        raise InputDataError(
            f"{source}: no name field {name_field!r} found; the columns are: {', '.join(map(str, cols)) or '(none)'}"
            if name_field else
            f"{source}: cannot tell which column holds the names; pass name_field= (columns: {', '.join(map(str, cols)) or '(none)'})"
        )
    names = ["" if (v is None or (isinstance(v, float) and v != v)) else str(v).strip() for v in gdf[nf].tolist()]
    alt_cols = [c for c in ALT_NAME_FIELDS if c in cols and c != nf]
    alt_values = [gdf[c].tolist() for c in alt_cols]
    alts = []
    for i in range(len(gdf)):
        vals: list[str] = []
        for col in alt_values:
            v = col[i]
            if v is not None and v == v and v != "":
                vals.extend(_split_multi(v))
        if not names[i] and vals:
            names[i] = vals[0]
        alts.append(";".join(dict.fromkeys(v for v in vals if v != names[i])) if vals else "")
    rf = ref_field or _pick(cols, REF_FIELDS)
    if ref_field and ref_field not in cols:
        raise InputDataError(f"{source}: no ref field {ref_field!r}; the columns are: {', '.join(map(str, cols))}")
    refs = [";".join(normalize_ref(v)) for v in gdf[rf].tolist()] if rf else [""] * len(gdf)
    # kinds
    kinds: list[str | None] = [None] * len(gdf)
    if kind_field:
        if kind_field not in cols:
            raise InputDataError(f"{source}: no kind field {kind_field!r}; the columns are: {', '.join(map(str, cols))}")
        kinds = [_kind_value(v) for v in gdf[kind_field].tolist()]
    else:
        for key, k in (("highway", "road"), ("railway", "rail"), ("waterway", "water")):
            if key in cols:
                vals = gdf[key].tolist()
                kinds = [kd if kd is not None else (k if (v is not None and v == v and str(v) != "") else None)
                         for kd, v in zip(kinds, vals)]
        kc = _pick(cols, KIND_FIELDS)
        if kc:
            kinds = [kd if kd is not None else _kind_value(v) for kd, v in zip(kinds, gdf[kc].tolist())]
    guessed: dict[str, str] = {}
    final_kinds = []
    for kd, n, r in zip(kinds, names, refs):
        if kd is None:
            if n not in guessed:
                g = guess_kind(n) if n else "unknown"
                guessed[n] = g if g != "unknown" else default_kind
            kd = guessed[n]
            if kd == "unknown" and r:
                kd = "road"  # a route number (G318, S215) is a road
        final_kinds.append(kd)
    idc = _pick(cols, ID_FIELDS)
    if idc is not None and gdf[idc].notna().all() and gdf[idc].is_unique:
        ids = gdf[idc].astype(str).tolist()
    else:
        ids = [str(i) for i in range(len(gdf))]
    out = gpd.GeoDataFrame(
        {"feature_id": ids, "name": names, "alt_names": alts, "ref": refs, "kind": final_kinds},
        geometry=np.asarray(gdf.geometry.values),
        crs=gdf.crs,
    )
    return _clean_geometries(out, source=source)


def _clean_geometries(gdf: "gpd.GeoDataFrame", *, source: str) -> "gpd.GeoDataFrame":
    """Keep lines; polygon outlines become lines; points and empties are dropped."""
    import shapely

    geoms = np.asarray(gdf.geometry.values, dtype=object)
    types = shapely.get_type_id(geoms)
    poly = (types == 3) | (types == 6)
    if poly.any():
        geoms = geoms.copy()
        geoms[poly] = shapely.boundary(geoms[poly])
        types = shapely.get_type_id(geoms)
    keep = ((types == 1) | (types == 2) | (types == 5)) & ~shapely.is_empty(geoms)
    if not keep.any():
        raise InputDataError(f"{source}: no line features (roads, rivers, railways) in the network")
    ring = types == 2
    if ring.any():
        geoms = geoms.copy()
        geoms[ring] = [shapely.LineString(shapely.get_coordinates(g)) for g in geoms[ring]]
    out = gdf.loc[keep].copy()
    if poly.any() or ring.any():
        out = out.set_geometry(np.asarray(geoms[keep], dtype=object), crs=gdf.crs)
    return out.reset_index(drop=True)


def load_network(
    path: str | Path,
    *,
    layer: str | None = None,
    name_field: str | None = None,
    encoding: str | None = None,
    crs: Any | None = None,
    ref_field: str | None = None,
    kind_field: str | None = None,
    default_kind: str = "unknown",
) -> "gpd.GeoDataFrame":
    """Load a line network from any vector file GDAL reads, or OSM XML/PBF.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, Shapefile, DXF, FlatGeobuf, GeoParquet, ``.osm`` or ``.osm.pbf``.
    layer
        Layer of a multi-layer file (GeoPackage; for OSM ``lines`` or ``multilinestrings``,
        default both).
    name_field
        Column holding feature names, e.g. ``Layer`` for a DXF whose layers are named after
        the roads (default: the first of :data:`NAME_FIELDS` present). For OSM data, the tag
        read as the name (default ``name``, then ``name:zh`` and the other name tags).
    encoding
        Attribute encoding (``gbk``) when a Shapefile does not declare one.
    crs
        CRS of a file that declares none (DXF drawings); not a reprojection.
    ref_field, kind_field, default_kind
        As in :func:`normalize_network`.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`NETWORK_COLUMNS` + ``geometry``, in the file's CRS.

    Raises
    ------
    InputFileError
        When the file is missing or unreadable.
    InputDataError
        When the name field is missing or the file holds no lines.
    CRSError
        When neither the file nor ``crs`` gives a CRS.
    """
    from xclz_geo.geo.crs import to_crs
    from xclz_geo.io import read_vector

    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{p}: network file not found")
    if _is_osm(p):
        gdf = _read_osm(p, layer=layer, name_key=name_field)
        if gdf.crs is None:
            gdf = gdf.set_crs("EPSG:4326")
        return _clean_geometries(gdf, source=str(p))
    gdf = read_vector(p, layer=layer, encoding=encoding)
    if gdf.crs is None:
        if crs is None:
            raise CRSError(f"{p}: the file declares no CRS (usual for DXF); pass crs=, e.g. 'EPSG:4549' (--crs on the command line)")
        gdf = gdf.set_crs(to_crs(crs))
    elif crs is not None:
        from xclz_geo.geo.crs import same_crs
        from xclz_geo.errors import CRSMismatchError

        if not same_crs(gdf.crs, crs):
            raise CRSMismatchError(f"{p}: the file declares {gdf.crs.to_string()} but crs={crs!r} was given; drop the option")
    return normalize_network(gdf, name_field=name_field, ref_field=ref_field, kind_field=kind_field,
                             default_kind=default_kind, source=str(p))


# ------------------------------------------------------------------ matching


#: ranking of match kinds, best first
MATCH_LEVELS = ("exact", "normalised", "ref", "fuzzy")


@dataclass
class NameMatch:
    """How one feature name resolved against a network.

    Attributes
    ----------
    query
        The name asked for.
    rows
        Positional row numbers of the matched network features.
    match_kinds
        For each row: ``exact``, ``normalised``, ``ref`` or ``fuzzy``.
    level
        The best match kind present.
    matched_names
        Distinct network names among the matches.
    fuzzy_score
        Similarity (0–1) of a fuzzy match, else ``None``.
    kind_mismatch
        True when only features of another kind carried the name (used, and reported).
    """

    query: str
    rows: np.ndarray
    match_kinds: list[str]
    level: str
    matched_names: list[str] = field(default_factory=list)
    fuzzy_score: float | None = None
    kind_mismatch: bool = False

    def to_dict(self, feature_ids: Sequence[str] | None = None) -> dict[str, Any]:
        """JSON-able form (with the feature ids when given)."""
        d: dict[str, Any] = {"query": self.query, "level": self.level, "matched_names": self.matched_names,
                             "n_features": int(len(self.rows)), "fuzzy_score": self.fuzzy_score,
                             "kind_mismatch": self.kind_mismatch}
        if feature_ids is not None:
            d["by_kind"] = {k: [feature_ids[int(r)] for r, mk in zip(self.rows, self.match_kinds) if mk == k]
                            for k in MATCH_LEVELS if k in self.match_kinds}
        return d


class NetworkIndex:
    """Name, normalised-name and ref look-up tables over a network frame (build once, query often).

    Parameters
    ----------
    network
        A frame in the network schema (:func:`load_network` / :func:`normalize_network`).
    """

    def __init__(self, network: "gpd.GeoDataFrame") -> None:
        missing = [c for c in NETWORK_COLUMNS if c not in network.columns]
        if missing:
            network = normalize_network(network)
        self.network = network
        self.feature_ids: list[str] = network["feature_id"].astype(str).tolist()
        self.kinds = np.asarray(network["kind"].astype(str).tolist(), dtype=object)
        self.exact: dict[str, list[int]] = {}
        self.norm: dict[str, list[int]] = {}
        self.refs: dict[str, list[int]] = {}
        self.display: dict[str, str] = {}  # normalised → one original spelling
        names = network["name"].tolist()
        alts = network["alt_names"].tolist()
        refs = network["ref"].tolist()
        norm_cache: dict[str, str] = {}
        ref_cache: dict[str, str | None] = {}
        for i, (n, a, r) in enumerate(zip(names, alts, refs)):
            spellings = [n] if n else []
            if a:
                spellings.extend(a.split(";"))
            for s in spellings:
                self.exact.setdefault(s, []).append(i)
                k = norm_cache.get(s)
                if k is None:
                    k = norm_cache[s] = normalize_name(s)
                if k:
                    self.norm.setdefault(k, []).append(i)
                    self.display.setdefault(k, s)
                if s not in ref_cache:
                    ref_cache[s] = parse_ref(s)
                rr = ref_cache[s]
                if rr:
                    self.refs.setdefault(rr, []).append(i)
            if r:
                for tok in r.split(";"):
                    if tok:
                        self.refs.setdefault(tok, []).append(i)
        self._bigrams: dict[str, set[str]] | None = None

    def __len__(self) -> int:
        return len(self.feature_ids)

    # ---- fuzzy helpers
    def _bigram_index(self) -> dict[str, set[str]]:
        if self._bigrams is None:
            idx: dict[str, set[str]] = {}
            for k in self.norm:
                for j in range(len(k)):
                    idx.setdefault(k[j:j + 2], set()).add(k)
            self._bigrams = idx
        return self._bigrams

    def _similar(self, query: str, *, limit: int) -> list[tuple[float, str]]:
        q = normalize_name(query)
        if not q:
            return []
        idx = self._bigram_index()
        cands: set[str] = set()
        for j in range(len(q)):
            cands |= idx.get(q[j:j + 2], set())
        if len(cands) > 20000:
            cands = {c for c in cands if abs(len(c) - len(q)) <= 3}
        scored = []
        for c in cands:
            sm = difflib.SequenceMatcher(None, q, c, autojunk=False)
            if sm.real_quick_ratio() < 0.3:
                continue
            score = sm.ratio()
            if (q in c or c in q) and min(len(q), len(c)) >= 2:
                score = max(score, 0.6 + 0.4 * min(len(q), len(c)) / max(len(q), len(c)))
            scored.append((score, c))
        scored.sort(key=lambda x: (-x[0], x[1]))
        return scored[:limit]

    def nearest_names(self, name: str, *, n: int = 5) -> list[str]:
        """The ``n`` network names most similar to ``name`` (for error messages)."""
        return [self.display.get(c, c) for _, c in self._similar(name, limit=n)]

    def match(self, feature: FeatureRef | str, *, allow_fuzzy: bool = True, context: str = "") -> NameMatch:
        """Resolve a feature name (and its ref and alternative names) to network rows.

        Parameters
        ----------
        feature
            A :class:`~xclz_geo.boundaries.sizhi.FeatureRef` or a bare name.
        allow_fuzzy
            Use fuzzy matches when nothing better exists (reported and warned about).
        context
            Where the name comes from (``"东至"``), used in messages.

        Raises
        ------
        NameNotResolvedError
            When nothing matches; the message lists the nearest names in the network.
        """
        if isinstance(feature, str):
            from xclz_geo.boundaries.sizhi import guess_kind as _gk

            feature = FeatureRef(name=feature, kind=_gk(feature), ref=parse_ref(feature))
        names = [feature.name, *feature.alt_names]
        found: dict[int, str] = {}
        for nm in names:
            for i in self.exact.get(nm, ()):
                found.setdefault(i, "exact")
        for nm in names:
            for i in self.norm.get(normalize_name(nm), ()):
                found.setdefault(i, "normalised")
        if feature.ref:
            for i in self.refs.get(feature.ref, ()):
                found.setdefault(i, "ref")
        fuzzy_score = None
        if not found and allow_fuzzy:
            best = self._similar(feature.name, limit=5)
            if best and best[0][0] >= FUZZY_MIN_SCORE:
                fuzzy_score = best[0][0]
                for score, key in best:
                    if score < fuzzy_score - 1e-9:
                        break
                    for i in self.norm.get(key, ()):
                        found.setdefault(i, "fuzzy")
        where = f"{context} " if context else ""
        if not found:
            near = self.nearest_names(feature.name, n=5)
            hint = f"nearest names in the network: {', '.join(near)}" if near else "no similar name in the network"
            extra = "" if allow_fuzzy else " (fuzzy matching is off)"
            refpart = f" or ref {feature.ref}" if feature.ref else ""
            raise NameNotResolvedError(
                f"{where}{feature.name}: no feature named {feature.name}{refpart} in the network{extra}; {hint}. "
                "Check the spelling, add the feature to the network, or give its other name in brackets (原…)"
            )
        rows = np.fromiter(found.keys(), dtype=np.int64)
        kinds = list(found.values())
        kind_mismatch = False
        if feature.kind != "unknown":
            ok = np.array([k in (feature.kind, "unknown") for k in self.kinds[rows]], dtype=bool)
            if ok.any():
                rows = rows[ok]
                kinds = [k for k, o in zip(kinds, ok) if o]
            else:
                kind_mismatch = True
        order = np.argsort(rows, kind="stable")
        rows = rows[order]
        kinds = [kinds[i] for i in order]
        level = min(kinds, key=MATCH_LEVELS.index)
        net_names = self.network["name"].to_numpy()[rows]
        matched = list(dict.fromkeys(str(n) for n in net_names if n))
        m = NameMatch(query=feature.name, rows=rows, match_kinds=kinds, level=level, matched_names=matched,
                      fuzzy_score=fuzzy_score, kind_mismatch=kind_mismatch)
        if level == "fuzzy":
            warnings.warn(
                f"{where}{feature.name}: not in the network; using the similar name(s) {', '.join(matched)} "
                f"(similarity {fuzzy_score:.2f}). Check this match, or pass allow_fuzzy=False",
                DataQualityWarning, stacklevel=3)
        if kind_mismatch:
            warnings.warn(
                f"{where}{feature.name}: the text suggests a {feature.kind} feature but the network has it only as "
                f"{', '.join(sorted(set(self.kinds[rows])))}; using it anyway", DataQualityWarning, stacklevel=3)
        return m


def match_feature(network: "gpd.GeoDataFrame", feature: FeatureRef | str, *, allow_fuzzy: bool = True) -> NameMatch:
    """Resolve one name against a network frame (builds a :class:`NetworkIndex`; reuse one for many names)."""
    return NetworkIndex(network).match(feature, allow_fuzzy=allow_fuzzy)


__all__ = [
    "MATCH_LEVELS", "NAME_FIELDS", "NETWORK_COLUMNS", "NameMatch", "NetworkIndex", "load_network",
    "match_feature", "normalize_name", "normalize_network", "normalize_ref", "parse_hstore",
]
