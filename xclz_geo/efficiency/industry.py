"""GB/T 4754-2017 industry codes: names and the 《工业项目建设用地控制指标》 table keyed by them.

Shared by :mod:`xclz_geo.efficiency.evaluate` (industry names in the summaries) and
:mod:`xclz_geo.efficiency.intensity` (容积率 minimums), so neither imports the other for them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["control_table", "industry_names"]


@lru_cache(maxsize=4)
def control_table(path: str | None = None) -> "pd.DataFrame":
    """The 《工业项目建设用地控制指标》 容积率 minimums keyed by two-digit GB/T 4754-2017 code."""
    import pandas as pd

    from xclz_geo.datasets import data_path

    p = Path(path) if path else data_path("methods", "industrial_land_control_2008.csv")
    df = pd.read_csv(p, dtype={"code_2017": str, "code_2002": str}, encoding="utf-8")
    for c in ("far_confirmed", "crosswalk_confirmed"):
        df[c] = df[c].astype(str).str.lower().eq("true")
    return df


def industry_names() -> dict[str, str]:
    """Two-digit GB/T 4754-2017 code → Chinese name (mining, manufacturing, utilities)."""
    t = control_table()
    return dict(zip(t["code_2017"], t["name_zh_2017"]))
