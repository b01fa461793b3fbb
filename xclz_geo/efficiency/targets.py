"""The plan's own targets: leading industries per block, and their share of firms, land, tax and revenue.

宣政秘〔2022〕14号 names the industries each block is to build by 2024 (宣城经开区: 新能源新材料、
汽车零部件、高端装备制造、食品医药; 广德经开区: 信息电子、机械制造 and 电子电路、汽车及零部件、智能装备制造、
新材料). ``data/plan/targets.toml`` holds those names with the line they are read on, each mapped to
GB/T 4754-2017 code prefixes — a mapping that is our judgement and says so (``confirmed_codes = false``).

:func:`leading_shares` measures, per block, the share of firms, land (亩), tax and revenue in each
leading industry and in all of them together (a firm counted once even when two industries' codes
overlap); :func:`leading_shares_by_year` does it for every year of an evaluation history.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from xclz_geo.errors import InputDataError, InputFileError

if TYPE_CHECKING:
    import pandas as pd

    from xclz_geo.efficiency.evaluate import EvaluationResult

__all__ = ["Industry", "PlanTargets", "firm_frame", "leading_shares", "leading_shares_by_year", "load_targets"]

#: columns a firm frame needs
FIRM_COLUMNS = ("block_id", "industry_code", "land_mu", "tax_wan", "revenue_wan", "status")


@dataclass(frozen=True)
class Industry:
    """One leading industry of a block as the plan names it, with our code mapping."""

    id: str
    name_zh: str
    kind: str
    codes: tuple[str, ...]
    confirmed_name: bool
    confirmed_codes: bool

    def matches(self, code: Any) -> bool:
        """True when a GB/T 4754 industry code starts with one of this industry's prefixes."""
        if code is None:
            return False
        s = "".join(ch for ch in str(code) if ch.isdigit())
        return bool(s) and any(s.startswith(p) for p in self.codes)


@dataclass(frozen=True)
class PlanTargets:
    """The targets file: the plan's id and source, and the leading industries per block."""

    id: str
    source: str
    target_year: int | None
    blocks: dict[str, tuple[Industry, ...]]
    block_names: dict[str, str]
    path: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def unconfirmed(self) -> list[str]:
        """Industries whose name or code mapping was not read in an official text."""
        return [f"{b}.{i.id}" + ("" if i.confirmed_codes else " (codes)") + ("" if i.confirmed_name else " (name)")
                for b, inds in self.blocks.items() for i in inds if not (i.confirmed_codes and i.confirmed_name)]


def load_targets(path: str | Path | None = None) -> PlanTargets:
    """Read ``data/plan/targets.toml`` (or a user's file with the same keys).

    Raises
    ------
    InputFileError
        The file is missing or not TOML.
    InputDataError
        A key is missing or of the wrong kind (named, e.g. ``blocks[1].industries[0].codes``).
    """
    from xclz_geo.datasets import data_path

    p = Path(path) if path is not None else data_path("plan", "targets.toml")
    if not p.is_file():
        raise InputFileError(f"{p}: targets file not found")
    try:
        with open(p, "rb") as f:
            doc = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(f"{p}: not valid TOML ({exc})") from None

    def need(table: dict[str, Any], key: str, where: str, kind: type) -> Any:
        if key not in table:
            raise InputDataError(f"{p}: {where}{key} is missing")
        v = table[key]
        if not isinstance(v, kind):
            raise InputDataError(f"{p}: {where}{key} must be {kind.__name__}, not {v!r}")
        return v

    plan = need(doc, "plan", "", dict)
    blocks: dict[str, tuple[Industry, ...]] = {}
    names: dict[str, str] = {}
    for bi, b in enumerate(need(doc, "blocks", "", list)):
        where = f"blocks[{bi}]."
        bid = need(b, "id", where, str)
        names[bid] = need(b, "name_zh", where, str)
        inds = []
        for ii, ind in enumerate(need(b, "industries", where, list)):
            w = f"{where}industries[{ii}]."
            codes = need(ind, "codes", w, list)
            if not codes or not all(isinstance(c, str) and c.isdigit() and 2 <= len(c) <= 4 for c in codes):
                raise InputDataError(f"{p}: {w}codes must be GB/T 4754 code prefixes of 2–4 digits as strings, e.g. [\"36\", \"3670\"]")
            inds.append(Industry(
                id=need(ind, "id", w, str), name_zh=need(ind, "name_zh", w, str), kind=str(ind.get("kind", "")),
                codes=tuple(codes), confirmed_name=bool(ind.get("confirmed_name", False)),
                confirmed_codes=bool(ind.get("confirmed_codes", False)),
            ))
        blocks[bid] = tuple(inds)
    ty = plan.get("target_year")
    return PlanTargets(id=need(plan, "id", "plan.", str), source=need(plan, "source", "plan.", str),
                       target_year=int(ty) if isinstance(ty, int) else None, blocks=blocks, block_names=names,
                       path=str(p), notes=tuple(plan.get("notes", ())))


def firm_frame(result: "EvaluationResult") -> "pd.DataFrame":
    """The columns :func:`leading_shares` needs, from an evaluation (block from locating, values parsed)."""
    import pandas as pd

    d = result.enterprises.data if result.enterprises is not None else pd.DataFrame(index=result.scores.index)
    s = result.scores
    return pd.DataFrame({
        "block_id": s["block_id"] if "block_id" in s else None,
        "industry_code": d.get("industry_code"),
        "land_mu": d.get("land_mu"),
        "tax_wan": d.get("tax_wan"),
        "revenue_wan": d.get("revenue_wan"),
        "status": s.get("status"),
    })


def leading_shares(targets: PlanTargets, firms: "pd.DataFrame", *, evaluated_only: bool = False) -> "pd.DataFrame":
    """Share of firms, land, tax and revenue in each block's leading industries.

    Parameters
    ----------
    targets
        From :func:`load_targets`.
    firms
        One row per firm with :data:`FIRM_COLUMNS` (``status`` optional): :func:`firm_frame` of an
        evaluation, or :func:`xclz_geo.efficiency.history.load_year`.
    evaluated_only
        Count only firms with status ``evaluated``.

    Returns
    -------
    pandas.DataFrame
        One row per block × industry plus a row ``industry = "all_leading"`` per block: ``block_id``,
        ``block_zh``, ``industry``, ``industry_zh``, ``kind``, ``firms``, ``land_mu``, ``tax_wan``,
        ``revenue_wan`` and the ``*_share_pct`` of each within the block (firms located in the block), and
        ``confirmed_codes``. Blocks with no located firm have shares ``NaN`` (not 0).
    """
    import numpy as np
    import pandas as pd

    from xclz_geo.efficiency.evaluate import map_distinct

    missing = [c for c in ("block_id", "industry_code") if c not in firms.columns]
    if missing:
        raise InputDataError(f"firms: column(s) {', '.join(missing)} missing; locate the firms in the zone (block_id) first")
    f = firms
    if evaluated_only and "status" in f.columns:
        f = f[f["status"] == "evaluated"]
    rows = []
    for bid, inds in targets.blocks.items():
        fb = f[f["block_id"] == bid]
        tot = {"firms": float(len(fb))}
        for c in ("land_mu", "tax_wan", "revenue_wan"):
            tot[c] = float(pd.to_numeric(fb[c], errors="coerce").sum()) if c in fb else float("nan")
        any_mask = np.zeros(len(fb), dtype=bool)
        entries = []
        for ind in inds:
            mask = map_distinct(fb["industry_code"], ind.matches).to_numpy(dtype=bool)  # once per distinct code
            any_mask |= mask
            entries.append((ind.id, ind.name_zh, ind.kind, ind.confirmed_codes, mask))
        entries.append(("all_leading", "全部主导产业", "合计", all(i.confirmed_codes for i in inds), any_mask))
        for iid, name, kind, conf, mask in entries:
            sub = fb[mask]
            r = {"block_id": bid, "block_zh": targets.block_names.get(bid, bid), "industry": iid, "industry_zh": name,
                 "kind": kind, "firms": int(len(sub))}
            for c in ("land_mu", "tax_wan", "revenue_wan"):
                r[c] = float(pd.to_numeric(sub[c], errors="coerce").sum()) if c in sub else float("nan")
            for c in ("firms", "land_mu", "tax_wan", "revenue_wan"):
                denom = tot[c]
                r[f"{c}_share_pct"] = 100.0 * r[c] / denom if denom and np.isfinite(denom) and denom != 0 else float("nan")
            r["confirmed_codes"] = conf
            rows.append(r)
    return pd.DataFrame(rows)


def leading_shares_by_year(targets: PlanTargets, history: str | Path, *, evaluated_only: bool = False) -> "pd.DataFrame":
    """:func:`leading_shares` for every stored year of an evaluation history (a ``year`` column first)."""
    import pandas as pd

    from xclz_geo.efficiency.history import list_years, load_year

    frames = []
    for y in list_years(history):
        t = leading_shares(targets, load_year(history, y["year"]), evaluated_only=evaluated_only)
        t.insert(0, "year", y["year"])
        frames.append(t)
    if not frames:
        raise InputDataError(f"{history}: no year stored")
    return pd.concat(frames, ignore_index=True)
