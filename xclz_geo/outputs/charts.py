"""Static charts with Chinese labels, for reports (matplotlib, rendered to PNG).

Chinese text needs a CJK font; matplotlib's default (DejaVu Sans) has no CJK glyphs and draws
empty boxes with a "Glyph … missing from font(s)" warning. :func:`cjk_font` finds one installed
on the system (Noto Sans CJK from Debian's ``fonts-noto-cjk``, Source Han Sans, WenQuanYi,
SimHei, Microsoft YaHei …) and every chart here is drawn inside :func:`chart_style`, which puts
that font first with DejaVu Sans as the fallback for Latin text. Without any CJK font,
:func:`cjk_font` raises :class:`~xclz_geo.errors.FontUnavailableError` naming the package to
install — charts are never drawn with boxes instead of characters.

Every chart carries the quality label of its data (``synthetic``, ``schematic`` …) and any
method caveat in a line under the title, so a PNG copied out of a report still says what it is.
"""

from __future__ import annotations

import base64
import io
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from xclz_geo.errors import FontUnavailableError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

#: CJK font families tried in order (Simplified Chinese first)
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Noto Serif CJK SC",
    "AR PL UMing CN",
)

#: colours of the 亩均效益 classes A–D (green → red) and of "not evaluated"
CLASS_COLOURS = {"A": "#1a9850", "B": "#91cf60", "C": "#fc8d59", "D": "#d73027", "": "#bdbdbd"}

_INSTALL_HINT = (
    "install a CJK font, e.g. `apt-get install fonts-noto-cjk` (Debian/Ubuntu; scripts/test.sh does this as root) "
    "or set XCLZ_CJK_FONT to a .ttf/.otf/.ttc file"
)


@dataclass(frozen=True)
class CJKFont:
    """A CJK font matplotlib can use."""

    family: str
    path: str


@lru_cache(maxsize=1)
def cjk_font() -> CJKFont:
    """The CJK font charts use: ``$XCLZ_CJK_FONT`` (a font file) or the first of :data:`CJK_FAMILIES` installed.

    Raises
    ------
    FontUnavailableError
        When no CJK font is installed (the message says how to install one).
    """
    import os

    from matplotlib import font_manager

    given = os.environ.get("XCLZ_CJK_FONT")
    if given:
        p = Path(given)
        if not p.is_file():
            raise FontUnavailableError(f"XCLZ_CJK_FONT={given!r} is not a font file; {_INSTALL_HINT}")
        font_manager.fontManager.addfont(str(p))
        family = font_manager.FontProperties(fname=str(p)).get_name()
        return CJKFont(family=family, path=str(p))
    by_name: dict[str, str] = {}
    for entry in font_manager.fontManager.ttflist:
        by_name.setdefault(entry.name, entry.fname)
    for family in CJK_FAMILIES:
        if family in by_name:
            return CJKFont(family=family, path=by_name[family])
    raise FontUnavailableError(f"no CJK font found for chart labels (tried {', '.join(CJK_FAMILIES[:6])} …); {_INSTALL_HINT}")


def cjk_font_available() -> bool:
    """True when :func:`cjk_font` finds a font."""
    try:
        cjk_font()
    except FontUnavailableError:
        return False
    return True


@contextmanager
def chart_style() -> Iterator[CJKFont]:
    """Matplotlib settings for report charts: the CJK font first, DejaVu Sans as fallback, Agg-safe."""
    import matplotlib

    font = cjk_font()
    rc = {
        "font.family": "sans-serif",
        "font.sans-serif": [font.family, "DejaVu Sans"],
        "axes.unicode_minus": False,  # CJK fonts often lack U+2212; use the ASCII hyphen
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 12,
        "axes.titleweight": "bold",
        "font.size": 9.5,
        "svg.fonttype": "path",
    }
    with matplotlib.rc_context(rc):
        yield font


def _new_figure(width_in: float, height_in: float) -> "Figure":
    # Figure() directly, not pyplot: no global state, no GUI backend, nothing to close
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), layout="constrained")


def _title(ax: Any, title: str, note: str) -> None:
    ax.set_title(title, loc="left", pad=18 if note else 6)
    if note:
        ax.text(0.0, 1.01, note, transform=ax.transAxes, fontsize=8, color="#8a4b08", va="bottom", ha="left")


def bar_chart(
    data: "pd.DataFrame",
    *,
    title: str,
    note: str = "",
    xlabel: str = "",
    ylabel: str = "",
    stacked: bool = False,
    horizontal: bool = False,
    colours: Sequence[str] | dict[str, str] | None = None,
    value_labels: bool = True,
    value_format: str = "{:,.1f}",
    width_in: float = 7.5,
    height_in: float | None = None,
) -> "Figure":
    """A (stacked, horizontal) bar chart of a table: index = categories, columns = series.

    Parameters
    ----------
    data
        Index labels become the category axis; each numeric column is a series. NaN bars are
        left out (not drawn as zero).
    title, note
        Title, and the small line under it (data quality, method caveat).
    colours
        A list (one per column) or a mapping column → colour.
    value_labels
        Write each bar's value on it (only for unstacked charts and for stacks' totals).
    """
    import numpy as np

    n_cat = max(len(data.index), 1)
    if height_in is None:
        height_in = max(2.6, 0.42 * n_cat + 1.6) if horizontal else 3.8
    with chart_style():
        fig = _new_figure(width_in, height_in)
        ax = fig.add_subplot()
        cats = [str(c) for c in data.index]
        cols = list(data.columns)
        pos = np.arange(len(cats), dtype=float)
        if isinstance(colours, dict):
            colour_list = [colours.get(str(c)) for c in cols]
        elif colours is not None:
            colour_list = list(colours)
        else:
            colour_list = [None] * len(cols)
        k = len(cols)
        width = 0.75 if (stacked or k == 1) else 0.8 / k
        base = np.zeros(len(cats))
        for j, col in enumerate(cols):
            vals = data[col].to_numpy(dtype=float, na_value=np.nan)
            draw = np.where(np.isfinite(vals), vals, 0.0)
            offs = pos if (stacked or k == 1) else pos - 0.4 + width * (j + 0.5)
            kw = dict(label=str(col), color=colour_list[j] if j < len(colour_list) else None)
            if horizontal:
                bars = ax.barh(offs, draw, height=width, left=base if stacked else None, **kw)
            else:
                bars = ax.bar(offs, draw, width=width, bottom=base if stacked else None, **kw)
            if value_labels and not stacked:
                labels = [value_format.format(v) if np.isfinite(v) else "" for v in vals]
                ax.bar_label(bars, labels=labels, fontsize=7.5, padding=2)
            if stacked:
                base = base + draw
        if value_labels and stacked and k > 1:
            for p, total in zip(pos, base):
                if horizontal:
                    ax.text(total, p, " " + value_format.format(total), va="center", fontsize=7.5)
                else:
                    ax.text(p, total, value_format.format(total), ha="center", va="bottom", fontsize=7.5)
        if horizontal:
            ax.set_yticks(pos, cats)
            ax.invert_yaxis()
            ax.set_xlabel(ylabel)
            ax.set_ylabel(xlabel)
            ax.margins(x=0.12)
        else:
            ax.set_xticks(pos, cats, rotation=0 if max((len(c) for c in cats), default=0) <= 8 else 30,
                          ha="center" if max((len(c) for c in cats), default=0) <= 8 else "right")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.margins(y=0.12)
        if k > 1:
            if horizontal or k > 3:  # outside the axes, right: never over the bars
                ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
            else:
                ax.legend(fontsize=8, frameon=False, loc="best")
        _title(ax, title, note)
    return fig


def box_chart(
    groups: dict[str, Sequence[float]],
    *,
    title: str,
    note: str = "",
    ylabel: str = "",
    colours: dict[str, str] | None = None,
    reference: tuple[float, str] | None = None,
    width_in: float = 7.5,
    height_in: float = 3.8,
) -> "Figure":
    """Box plots of a value per group (e.g. 亩均税收 per class), with every point drawn over its box.

    ``reference`` = (value, label) draws a dashed horizontal line (e.g. the zone median).
    Empty groups keep their place with "n = 0".
    """
    import numpy as np

    names = list(groups)
    with chart_style():
        fig = _new_figure(width_in, height_in)
        ax = fig.add_subplot()
        data = [np.asarray([v for v in groups[n] if v is not None and np.isfinite(v)], dtype=float) for n in names]
        pos = np.arange(1, len(names) + 1)
        present = [i for i, d in enumerate(data) if d.size]
        if present:
            bp = ax.boxplot([data[i] for i in present], positions=pos[present], widths=0.55, patch_artist=True,
                            showfliers=False, medianprops={"color": "black"})
            for patch, i in zip(bp["boxes"], present):
                patch.set_facecolor((colours or {}).get(names[i], "#9ecae1"))
                patch.set_alpha(0.75)
            rng = np.random.default_rng(0)
            for i in present:
                jitter = rng.uniform(-0.12, 0.12, size=data[i].size)
                ax.scatter(pos[i] + jitter, data[i], s=9, color="#333333", alpha=0.6, zorder=3, linewidths=0)
        ax.set_xticks(pos, [f"{n}\nn = {d.size}" for n, d in zip(names, data)])
        ax.set_xlim(0.4, len(names) + 0.6)
        ax.set_ylabel(ylabel)
        if reference is not None and np.isfinite(reference[0]):
            ax.axhline(reference[0], color="#555555", ls="--", lw=1)
            ax.text(len(names) + 0.55, reference[0], reference[1], ha="right", va="bottom", fontsize=8, color="#555555")
        _title(ax, title, note)
    return fig


def figure_png(fig: "Figure", *, dpi: int = 110) -> bytes:
    """PNG bytes of a figure (the CJK font must be active while drawing: call inside or after a chart function)."""
    buf = io.BytesIO()
    with chart_style():
        fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,…`` for embedding a PNG in HTML."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def fonts_used(fig: "Figure") -> set[str]:
    """Font files matplotlib resolves for every text of a figure (to check the CJK font is used)."""
    from matplotlib import font_manager
    from matplotlib.text import Text

    with chart_style():
        return {
            str(font_manager.findfont(t.get_fontproperties()))
            for t in fig.findobj(Text)
            if t.get_text() and any(ord(ch) > 0x2E80 for ch in t.get_text())
        }


#: the public names of this module (``from … import *``, the API reference)
__all__ = [
    "CJK_FAMILIES", "CLASS_COLOURS", "CJKFont", "cjk_font", "cjk_font_available", "chart_style", "bar_chart",
    "box_chart", "figure_png", "png_data_uri", "fonts_used"
]
