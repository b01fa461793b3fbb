"""The report's charts as inline SVG, written directly (no matplotlib).

A report chart is a few bars, stacks or boxes; drawing them with matplotlib and embedding a PNG
cost most of a demo report's time (the import, the layout engine and the rasteriser), made the
report depend on a CJK font installed where it was *made*, and left the labels as pixels. Here
each chart is a small ``<svg>`` element put straight into the page: its text is text (searchable,
copyable, drawn by the reader's browser with its own Chinese font), it scales without blurring,
and it costs milliseconds.

Every piece of text — title, quality note, category, series and group names, axis labels, value
labels and tooltips — goes through :func:`xclz_geo.outputs.html_safe.escape_html`; colours go
through :func:`~xclz_geo.outputs.html_safe.css_colour`. The SVG uses presentation attributes
only (no ``<style>`` element, no script, no event attribute), so the page's Content-Security-Policy
needs nothing new. Bars and boxes carry ``data-value`` (the number drawn) and a ``<title>``
tooltip with the formatted value.

The drawing follows :mod:`xclz_geo.outputs.charts` (the matplotlib versions, still used for PNG
export): NaN bars are left out (not drawn as zero), stacked bars are labelled with their total,
box plots use Tukey whiskers (1.5 × IQR) with every point drawn over its box.
"""

from __future__ import annotations

import math
import unicodedata
from typing import TYPE_CHECKING, Any, Sequence

from xclz_geo.outputs.html_safe import css_colour, escape_html

if TYPE_CHECKING:
    import pandas as pd

#: font families asked for (the reader's browser picks the first it has; Chinese first)
FONT_FAMILY = ('"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC","WenQuanYi Micro Hei",'
               '"SimHei","Hiragino Sans GB","DejaVu Sans",sans-serif')

#: matplotlib's default cycle, for series without a given colour
DEFAULT_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
                   "#17becf")

#: pixels per inch of the ``width_in``/``height_in`` options (CSS pixels)
PX_PER_IN = 96.0

_TITLE_PX = 15.0
_NOTE_PX = 11.0
_TICK_PX = 11.5
_VALUE_PX = 10.0
_LEGEND_PX = 11.0
_NOTE_COLOUR = "#8a4b08"


def _e(value: Any) -> str:
    return escape_html(value)


def _num(v: float) -> str:
    """A coordinate, short: ``12.5``, ``0``."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def text_width(text: str, size_px: float) -> float:
    """Estimated width of ``text`` in pixels: wide (CJK) characters 1 em, others 0.6 em.

    Only for layout (margins, wrapping, legend spacing); the browser draws the text itself.
    """
    w = 0.0
    for ch in str(text):
        w += 1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.6
    return w * size_px


def _wrap(text: str, size_px: float, width_px: float) -> list[str]:
    """``text`` cut into lines no wider than ``width_px`` (at spaces when possible, else anywhere)."""
    text = str(text)
    if not text or text_width(text, size_px) <= width_px:
        return [text] if text else []
    lines: list[str] = []
    cur = ""
    for ch in text:
        if cur and text_width(cur + ch, size_px) > width_px:
            cut = cur.rfind(" ")
            if cut > len(cur) // 2:
                lines.append(cur[:cut])
                cur = cur[cut + 1:]
            else:
                lines.append(cur)
                cur = ""
        cur += ch
    if cur:
        lines.append(cur)
    return lines


def nice_ticks(lo: float, hi: float, *, target: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 × 10ⁿ steps) covering ``[lo, hi]`` from inside."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / max(target, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * mag >= raw * 0.999)
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    return [round(i * step, 12) for i in range(first, last + 1)]


def _tick_labels(ticks: Sequence[float]) -> list[str]:
    """Tick texts with as few decimals as tell them apart exactly (thousands separated)."""
    for d in range(7):
        if all(abs(round(t, d) - t) < 1e-9 * max(1.0, abs(t)) for t in ticks):
            break
    out = []
    for t in ticks:
        s = f"{t:,.{d}f}"
        out.append(s[1:] if s.startswith("-") and float(t) == 0 else s)
    return out


def _svg_open(width: float, height: float, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {_num(width)} {_num(height)}" '
            f'width="{_num(width)}" height="{_num(height)}" role="img" aria-label="{_e(title)}" '
            f"font-family='{FONT_FAMILY}' font-size=\"{_num(_TICK_PX)}\" fill=\"#222\">"
            f"<title>{_e(title)}</title>"
            f'<rect x="0" y="0" width="{_num(width)}" height="{_num(height)}" fill="#fff"/>')


def _header(parts: list[str], title: str, note: str, width: float, *, left: float = 8.0) -> float:
    """Title (bold) and the quality/caveat note under it; returns the y below them."""
    y = 6.0
    for line in _wrap(title, _TITLE_PX, width - 2 * left) or [""]:
        y += _TITLE_PX * 1.3
        parts.append(f'<text class="title" x="{_num(left)}" y="{_num(y)}" font-size="{_num(_TITLE_PX)}" font-weight="bold">'
                     f"{_e(line)}</text>")
    for line in _wrap(note, _NOTE_PX, width - 2 * left):
        y += _NOTE_PX * 1.35
        parts.append(f'<text class="note" x="{_num(left)}" y="{_num(y)}" font-size="{_num(_NOTE_PX)}" fill="{_NOTE_COLOUR}">'
                     f"{_e(line)}</text>")
    return y + 6.0


def _legend(parts: list[str], items: Sequence[tuple[str, str]], y: float, width: float, *, left: float = 8.0) -> float:
    """One or more rows of ``■ name`` under the header; returns the y below them."""
    if not items:
        return y
    x = left
    row_h = _LEGEND_PX * 1.5
    y += 2.0
    parts.append('<g class="legend">')
    for name, colour in items:
        w = 14.0 + text_width(name, _LEGEND_PX) + 14.0
        if x > left and x + w > width - left:
            x = left
            y += row_h
        parts.append(f'<rect x="{_num(x)}" y="{_num(y + 1)}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{_num(x + 14)}" y="{_num(y + 10)}" font-size="{_num(_LEGEND_PX)}">{_e(name)}</text>')
        x += w
    parts.append("</g>")
    return y + row_h + 4.0


def _colour_list(cols: Sequence[Any], colours: Sequence[str] | dict[str, str] | None) -> list[str]:
    if isinstance(colours, dict):
        given = [colours.get(str(c)) for c in cols]
    elif colours is not None:
        given = list(colours)
    else:
        given = []
    return [css_colour(given[j], default=DEFAULT_COLOURS[j % len(DEFAULT_COLOURS)]) if j < len(given) and given[j]
            else DEFAULT_COLOURS[j % len(DEFAULT_COLOURS)] for j in range(len(cols))]


def bar_svg(
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
) -> str:
    """A (stacked, horizontal) bar chart of a table as an ``<svg>`` element: index = categories, columns = series.

    Same options as :func:`xclz_geo.outputs.charts.bar_chart`.

    Parameters
    ----------
    data
        Index labels become the category axis; each numeric column is a series. NaN bars are
        left out (not drawn as zero).
    title, note
        Title, and the small line under it (data quality, method caveat).
    xlabel, ylabel
        Label of the category axis and of the value axis.
    stacked, horizontal
        Stack the series; draw the bars left to right (categories top to bottom).
    colours
        A list (one per column) or a mapping column → colour (anything but a CSS colour is ignored).
    value_labels
        Write each bar's value at its end (only for unstacked charts, and stacks' totals).
    value_format
        ``str.format`` pattern of the value labels.
    width_in, height_in
        Size in inches (96 CSS pixels each); the height defaults as in the matplotlib version.

    Returns
    -------
    str
        The ``<svg>`` element (no XML declaration), every text escaped.
    """
    import numpy as np

    cats = [str(c) for c in data.index]
    cols = list(data.columns)
    n_cat = max(len(cats), 1)
    k = len(cols)
    if height_in is None:
        height_in = max(2.6, 0.42 * n_cat + 1.6) if horizontal else 3.8
    width = width_in * PX_PER_IN
    height = height_in * PX_PER_IN
    colour = _colour_list(cols, colours)
    vals = [data[c].to_numpy(dtype=float, na_value=np.nan) for c in cols] if k else []
    # the ends of every bar (stacks: their running sums; NaN drawn as nothing, counted as 0)
    starts: list[np.ndarray] = []
    base = np.zeros(len(cats))
    for v in vals:
        draw = np.where(np.isfinite(v), v, 0.0)
        starts.append(base.copy() if stacked else np.zeros(len(cats)))
        if stacked:
            base = base + draw
    ends = [s + np.where(np.isfinite(v), v, 0.0) for s, v in zip(starts, vals)]
    all_ends = np.concatenate([np.concatenate(ends), *starts]) if ends and len(cats) else np.zeros(1)
    lo = min(0.0, float(np.nanmin(all_ends)))
    hi = max(0.0, float(np.nanmax(all_ends)))
    if hi <= lo:
        hi = lo + 1.0
    pad = 0.12 * (hi - lo)  # room for value labels, as the matplotlib version's margins
    hi += pad if hi > 0 else 0.0
    lo -= pad if lo < 0 else 0.0
    ticks = nice_ticks(lo, hi)
    tick_text = _tick_labels(ticks)

    parts: list[str] = []
    top = _header(parts, title, note, width)
    if k > 1:
        top = _legend(parts, [(str(c), colour[j]) for j, c in enumerate(cols)], top, width)
    top += _VALUE_PX + 2  # the value label over the highest bar
    rotate = not horizontal and max((len(c) for c in cats), default=0) > 8
    if horizontal:
        left = 12.0 + max((text_width(c, _TICK_PX) for c in cats), default=0.0) + (_TICK_PX * 1.6 if xlabel else 0.0)
        left = min(left, width * 0.45)
        right = width - 16.0
        bottom = height - (_TICK_PX * 1.9 + (_TICK_PX * 1.6 if ylabel else 0.0))
    else:
        left = 14.0 + max((text_width(t, _TICK_PX) for t in tick_text), default=0.0) + (_TICK_PX * 1.6 if ylabel else 0.0)
        right = width - 12.0
        cat_h = (max((text_width(c, _TICK_PX) for c in cats), default=0.0) * 0.5 + _TICK_PX) if rotate else _TICK_PX * 1.3
        bottom = height - (8.0 + cat_h + (_TICK_PX * 1.6 if xlabel else 0.0))
    bottom = max(bottom, top + 40.0)
    if horizontal:
        def vpos(v: float) -> float:
            return left + (v - lo) / (hi - lo) * (right - left)
    else:
        def vpos(v: float) -> float:
            return bottom - (v - lo) / (hi - lo) * (bottom - top)

    # grid and value-axis ticks
    parts.append('<g class="grid" stroke="#e3e3e3" stroke-width="1">')
    for t in ticks:
        p = vpos(t)
        parts.append(f'<line x1="{_num(p)}" y1="{_num(top)}" x2="{_num(p)}" y2="{_num(bottom)}"/>' if horizontal else
                     f'<line x1="{_num(left)}" y1="{_num(p)}" x2="{_num(right)}" y2="{_num(p)}"/>')
    parts.append("</g>")
    parts.append('<g class="ticks">')
    for t, s in zip(ticks, tick_text):
        p = vpos(t)
        parts.append(f'<text x="{_num(p)}" y="{_num(bottom + _TICK_PX + 4)}" text-anchor="middle">{_e(s)}</text>' if horizontal else
                     f'<text x="{_num(left - 5)}" y="{_num(p + _TICK_PX * 0.35)}" text-anchor="end">{_e(s)}</text>')
    parts.append("</g>")

    # bars
    slot = ((bottom - top) if horizontal else (right - left)) / n_cat
    bw = (0.75 if (stacked or k <= 1) else 0.8 / k) * slot
    parts.append('<g class="bars">')
    for j, col in enumerate(cols):
        parts.append(f'<g class="series" data-series="{_e(col)}" fill="{colour[j]}">')
        for i, cat in enumerate(cats):
            v = vals[j][i]
            if not np.isfinite(v):
                continue  # left out, not drawn as zero
            centre = (i + 0.5) * slot + ((-0.4 + (0.8 / k) * (j + 0.5)) * slot if not (stacked or k <= 1) else 0.0)
            a, b = vpos(float(starts[j][i])), vpos(float(ends[j][i]))
            lo_px, len_px = min(a, b), abs(b - a)
            tip = (f"{cat} · {col}: " if k > 1 else f"{cat}: ") + value_format.format(v)
            if horizontal:
                geom = f'x="{_num(lo_px)}" y="{_num(top + centre - bw / 2)}" width="{_num(len_px)}" height="{_num(bw)}"'
            else:
                geom = f'x="{_num(left + centre - bw / 2)}" y="{_num(lo_px)}" width="{_num(bw)}" height="{_num(len_px)}"'
            parts.append(f'<rect {geom} data-category="{_e(cat)}" data-value="{float(v)!r}"><title>{_e(tip)}</title></rect>')
        parts.append("</g>")
    parts.append("</g>")

    # value labels: each bar's value (unstacked) or each stack's total
    if value_labels and (not stacked or k > 1):
        parts.append(f'<g class="values" font-size="{_num(_VALUE_PX)}">')
        label_sets: list[tuple[int, float, float, str]] = []  # (category, offset, value end, text)
        if stacked:
            for i in range(len(cats)):
                label_sets.append((i, 0.0, float(base[i]), value_format.format(float(base[i]))))
        else:
            for j in range(k):
                off = (-0.4 + (0.8 / k) * (j + 0.5)) * slot if k > 1 else 0.0
                for i in range(len(cats)):
                    v = vals[j][i]
                    if np.isfinite(v):
                        label_sets.append((i, off, float(v), value_format.format(v)))
        for i, off, v, s in label_sets:
            centre = (i + 0.5) * slot + off
            p = vpos(v)
            if horizontal:
                x = p + 3 if v >= 0 else p - 3
                parts.append(f'<text x="{_num(x)}" y="{_num(top + centre + _VALUE_PX * 0.35)}" '
                             f'text-anchor="{"start" if v >= 0 else "end"}">{_e(s)}</text>')
            else:
                y = p - 3 if v >= 0 else p + _VALUE_PX + 2
                parts.append(f'<text x="{_num(left + centre)}" y="{_num(y)}" text-anchor="middle">{_e(s)}</text>')
        parts.append("</g>")

    # axes: the zero line, category labels, axis titles
    z = vpos(0.0)
    parts.append(f'<line x1="{_num(z)}" y1="{_num(top)}" x2="{_num(z)}" y2="{_num(bottom)}" stroke="#444"/>' if horizontal else
                 f'<line x1="{_num(left)}" y1="{_num(z)}" x2="{_num(right)}" y2="{_num(z)}" stroke="#444"/>')
    parts.append('<g class="categories">')
    for i, cat in enumerate(cats):
        centre = (i + 0.5) * slot
        if horizontal:
            parts.append(f'<text x="{_num(left - 6)}" y="{_num(top + centre + _TICK_PX * 0.35)}" text-anchor="end">{_e(cat)}</text>')
        elif rotate:
            x, y = left + centre, bottom + _TICK_PX + 2
            parts.append(f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="end" transform="rotate(-30 {_num(x)} {_num(y)})">{_e(cat)}</text>')
        else:
            parts.append(f'<text x="{_num(left + centre)}" y="{_num(bottom + _TICK_PX + 4)}" text-anchor="middle">{_e(cat)}</text>')
    parts.append("</g>")
    value_axis, cat_axis = (ylabel, xlabel)
    if horizontal:
        if value_axis:
            parts.append(f'<text class="axis" x="{_num((left + right) / 2)}" y="{_num(height - 6)}" text-anchor="middle">{_e(value_axis)}</text>')
        if cat_axis:
            parts.append(f'<text class="axis" x="{_num(_TICK_PX)}" y="{_num((top + bottom) / 2)}" text-anchor="middle" '
                         f'transform="rotate(-90 {_num(_TICK_PX)} {_num((top + bottom) / 2)})">{_e(cat_axis)}</text>')
    else:
        if value_axis:
            parts.append(f'<text class="axis" x="{_num(_TICK_PX)}" y="{_num((top + bottom) / 2)}" text-anchor="middle" '
                         f'transform="rotate(-90 {_num(_TICK_PX)} {_num((top + bottom) / 2)})">{_e(value_axis)}</text>')
        if cat_axis:
            parts.append(f'<text class="axis" x="{_num((left + right) / 2)}" y="{_num(height - 6)}" text-anchor="middle">{_e(cat_axis)}</text>')
    return _svg_open(width, height, title) + "".join(parts) + "</svg>"


def box_stats(values: Sequence[float]) -> dict[str, float]:
    """Quartiles, median and Tukey whiskers (the furthest values within 1.5 × IQR of the box), as matplotlib draws them."""
    import numpy as np

    v = np.sort(np.asarray(values, dtype=float))
    q1, med, q3 = (float(x) for x in np.percentile(v, [25, 50, 75]))
    iqr = q3 - q1
    inside_lo = v[v >= q1 - 1.5 * iqr]
    inside_hi = v[v <= q3 + 1.5 * iqr]
    whislo = float(inside_lo.min()) if inside_lo.size else q1
    whishi = float(inside_hi.max()) if inside_hi.size else q3
    return {"q1": q1, "median": med, "q3": q3, "whislo": min(whislo, q1), "whishi": max(whishi, q3)}


def box_svg(
    groups: dict[str, Sequence[float]],
    *,
    title: str,
    note: str = "",
    ylabel: str = "",
    colours: dict[str, str] | None = None,
    reference: tuple[float, str] | None = None,
    width_in: float = 7.5,
    height_in: float = 3.8,
) -> str:
    """Box plots of a value per group (e.g. 亩均税收 per class) with every point over its box, as an ``<svg>`` element.

    Same options as :func:`xclz_geo.outputs.charts.box_chart`: ``reference`` = (value, label) draws a
    dashed horizontal line (e.g. the zone median); empty groups keep their place with "n = 0";
    None and NaN values are left out. The points are jittered sideways by a fixed seed (the same
    chart every run).
    """
    import numpy as np

    names = list(groups)
    data = [np.asarray([v for v in groups[n] if v is not None and np.isfinite(v)], dtype=float) for n in names]
    width = width_in * PX_PER_IN
    height = height_in * PX_PER_IN
    allv = np.concatenate([d for d in data if d.size]) if any(d.size for d in data) else np.zeros(0)
    ref_ok = reference is not None and math.isfinite(reference[0])
    span = [float(allv.min()), float(allv.max())] if allv.size else [0.0, 1.0]
    if ref_ok:
        span = [min(span[0], reference[0]), max(span[1], reference[0])]  # type: ignore[index]
    lo, hi = span
    if hi <= lo:
        lo, hi = lo - 1.0, hi + 1.0
    pad = 0.05 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    ticks = nice_ticks(lo, hi)
    tick_text = _tick_labels(ticks)

    parts: list[str] = []
    top = _header(parts, title, note, width) + 4.0
    left = 14.0 + max((text_width(t, _TICK_PX) for t in tick_text), default=0.0) + (_TICK_PX * 1.6 if ylabel else 0.0)
    right = width - 12.0
    bottom = height - (_TICK_PX * 2.6 + 10.0)
    bottom = max(bottom, top + 40.0)
    n = max(len(names), 1)
    slot = (right - left) / n

    def ypos(v: float) -> float:
        return bottom - (v - lo) / (hi - lo) * (bottom - top)

    parts.append('<g class="grid" stroke="#e3e3e3" stroke-width="1">')
    for t in ticks:
        parts.append(f'<line x1="{_num(left)}" y1="{_num(ypos(t))}" x2="{_num(right)}" y2="{_num(ypos(t))}"/>')
    parts.append("</g><g class=\"ticks\">")
    for t, s in zip(ticks, tick_text):
        parts.append(f'<text x="{_num(left - 5)}" y="{_num(ypos(t) + _TICK_PX * 0.35)}" text-anchor="end">{_e(s)}</text>')
    parts.append("</g>")
    rng = np.random.default_rng(0)
    bw = 0.55 * slot
    parts.append('<g class="boxes">')
    for i, (name, d) in enumerate(zip(names, data)):
        cx = left + (i + 0.5) * slot
        if d.size:
            st = box_stats(d)
            fill = css_colour((colours or {}).get(name), default="#9ecae1")
            tip = (f"{name}: n = {d.size}, 中位数 median {st['median']:,.2f}, 四分位 Q1–Q3 {st['q1']:,.2f}–{st['q3']:,.2f}")
            parts.append(f'<g class="box" data-group="{_e(name)}" data-median="{st["median"]!r}" data-q1="{st["q1"]!r}" '
                         f'data-q3="{st["q3"]!r}"><title>{_e(tip)}</title>')
            parts.append(f'<line x1="{_num(cx)}" y1="{_num(ypos(st["whislo"]))}" x2="{_num(cx)}" y2="{_num(ypos(st["q1"]))}" stroke="#333"/>'
                         f'<line x1="{_num(cx)}" y1="{_num(ypos(st["q3"]))}" x2="{_num(cx)}" y2="{_num(ypos(st["whishi"]))}" stroke="#333"/>'
                         f'<line x1="{_num(cx - bw / 4)}" y1="{_num(ypos(st["whislo"]))}" x2="{_num(cx + bw / 4)}" y2="{_num(ypos(st["whislo"]))}" stroke="#333"/>'
                         f'<line x1="{_num(cx - bw / 4)}" y1="{_num(ypos(st["whishi"]))}" x2="{_num(cx + bw / 4)}" y2="{_num(ypos(st["whishi"]))}" stroke="#333"/>')
            parts.append(f'<rect x="{_num(cx - bw / 2)}" y="{_num(ypos(st["q3"]))}" width="{_num(bw)}" '
                         f'height="{_num(ypos(st["q1"]) - ypos(st["q3"]))}" fill="{fill}" fill-opacity="0.75" stroke="#333"/>'
                         f'<line x1="{_num(cx - bw / 2)}" y1="{_num(ypos(st["median"]))}" x2="{_num(cx + bw / 2)}" '
                         f'y2="{_num(ypos(st["median"]))}" stroke="#000" stroke-width="1.5"/>')
            jitter = rng.uniform(-0.12, 0.12, size=d.size) * slot
            parts.append('<g class="points" fill="#333" fill-opacity="0.6">')
            parts.extend(f'<circle cx="{_num(cx + dx)}" cy="{_num(ypos(float(v)))}" r="2.2" data-value="{float(v)!r}"/>'
                         for dx, v in zip(jitter, d))
            parts.append("</g></g>")
        parts.append(f'<text x="{_num(cx)}" y="{_num(bottom + _TICK_PX + 4)}" text-anchor="middle">{_e(name)}</text>'
                     f'<text x="{_num(cx)}" y="{_num(bottom + 2 * _TICK_PX + 7)}" text-anchor="middle">n = {d.size}</text>')
    parts.append("</g>")
    parts.append(f'<line x1="{_num(left)}" y1="{_num(top)}" x2="{_num(left)}" y2="{_num(bottom)}" stroke="#444"/>'
                 f'<line x1="{_num(left)}" y1="{_num(bottom)}" x2="{_num(right)}" y2="{_num(bottom)}" stroke="#444"/>')
    if ref_ok:
        y = ypos(float(reference[0]))  # type: ignore[index]
        parts.append(f'<g class="reference" data-value="{float(reference[0])!r}">'  # type: ignore[index]
                     f'<line x1="{_num(left)}" y1="{_num(y)}" x2="{_num(right)}" y2="{_num(y)}" stroke="#555" stroke-dasharray="5 3"/>'
                     f'<text x="{_num(right - 2)}" y="{_num(y - 3)}" text-anchor="end" font-size="{_num(_LEGEND_PX)}" fill="#555">'
                     f"{_e(reference[1])}</text></g>")  # type: ignore[index]
    if ylabel:
        parts.append(f'<text class="axis" x="{_num(_TICK_PX)}" y="{_num((top + bottom) / 2)}" text-anchor="middle" '
                     f'transform="rotate(-90 {_num(_TICK_PX)} {_num((top + bottom) / 2)})">{_e(ylabel)}</text>')
    return _svg_open(width, height, title) + "".join(parts) + "</svg>"


#: the public names of this module (``from … import *``, the API reference)
__all__ = ["FONT_FAMILY", "DEFAULT_COLOURS", "PX_PER_IN", "bar_svg", "box_svg", "box_stats", "nice_ticks", "text_width"]
