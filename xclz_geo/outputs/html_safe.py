"""Where text becomes HTML: one escaping helper, checked quality labels and colours, and the page's CSP.

Every string that reaches a map or report page — layer names, legend lines, banners, titles,
tooltips, popups, table cells, file and part names — is user text until proven otherwise and
goes through :func:`escape_html` at the point where the HTML is made. Data embedded in a
``<script>`` goes through :func:`js_literal`. Nothing the user typed is ever inserted as markup.

Quality labels found in the user's data are checked against :data:`KNOWN_QUALITIES` by
:func:`check_quality_labels`: an unknown label is kept (and shown escaped, as text) and warned
about once, naming the file and column.

Every page carries a strict Content-Security-Policy ``<meta>`` (:func:`add_csp`):
``default-src 'none'``; inline ``<script>`` and ``<style>`` elements are allowed by their SHA-256
hashes only (computed from the finished page), so a script that got into the page some other way
does not run; images only from ``data:``/``blob:`` and the chosen tile server; no connections, no
forms, no ``<base>``. Inline ``style="…"`` attributes are allowed (``style-src-attr
'unsafe-inline'``): the map's legend, popups and cluster icons colour their symbols that way, and a
style attribute cannot run script or, with every other source closed, load anything.
A page embedding another page in an ``<iframe srcdoc>`` (the report's map) inherits the
embedder's policy in the browser, so :func:`add_csp` merges the embedded page's sources into the
embedder's policy.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import warnings
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from xclz_geo.errors import DataQualityWarning

#: the quality labels data can carry (the same as :data:`xclz_geo.boundaries.zone.QUALITY_LEVELS`)
KNOWN_QUALITIES = ("official", "surveyed", "osm", "schematic", "synthetic")


# ------------------------------------------------------------------ text → HTML


def escape_html(value: Any) -> str:
    """``value`` as HTML text: ``& < > " '`` escaped, ``None`` as the empty string.

    Use it for element content and for quoted attribute values alike.
    """
    return html.escape("" if value is None else str(value), quote=True)


def js_literal(obj: Any) -> str:
    """``obj`` as a JavaScript literal that is safe inside ``<script>``.

    Compact JSON with Chinese kept readable; every ``<`` is written as ``\\u003c``, so no
    ``</script>``, ``<!--`` or ``<script`` in the data can end or confuse the script element
    (the same string for JavaScript); U+2028/U+2029 are escaped too.
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def json_script(obj: Any, *, element_id: str) -> str:
    """``obj`` as a ``<script type="application/json" id="…">`` data block.

    The browser never runs or parses such a block as markup: a page script reads it with
    ``JSON.parse(document.getElementById(id).textContent)``, and whatever text the data holds stays
    text. ``<``, ``>`` and ``&`` are written as ``\\u003c``, ``\\u003e``, ``\\u0026`` (so no ``</script>``
    or ``<!--`` can end or confuse the block), U+2028/U+2029 escaped too; the id is escaped.
    """
    text = js_literal(obj).replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{escape_html(element_id)}">{text}</script>'


_COLOUR_RE = re.compile(r"#[0-9A-Fa-f]{3,8}|[A-Za-z]{3,20}|(?:rgb|rgba|hsl|hsla)\(\s*[0-9.,%\s]+\)")


def css_colour(value: Any, *, default: str = "#9e9e9e") -> str:
    """A CSS colour that is only a colour (``#rgb``, ``#rrggbb(aa)``, a name, ``rgb(…)``), else ``default``."""
    text = "" if value is None else str(value).strip()
    return text if _COLOUR_RE.fullmatch(text) else default


# ------------------------------------------------------------------ quality labels


def _short(value: str, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…'"


def unknown_quality_labels(values: Iterable[Any]) -> list[str]:
    """The distinct values (as text, sorted) that are not in :data:`KNOWN_QUALITIES`; blanks are ignored."""
    out = set()
    for v in values:
        if v is None or (isinstance(v, float) and v != v):
            continue
        text = str(v).strip()
        if text and text not in KNOWN_QUALITIES:
            out.add(text)
    return sorted(out)


def check_quality_labels(values: Iterable[Any], *, where: str) -> list[str]:
    """Warn once (one line naming ``where``: the file and column) about labels outside the vocabulary.

    The labels are not changed: an unknown one is carried on and shown as text (escaped), so the
    reader sees what the file says, and the warning says it is not one of the known labels.

    Returns
    -------
    list of str
        The unknown labels (empty when every label is known).
    """
    bad = unknown_quality_labels(values)
    if bad:
        shown = ", ".join(_short(b) for b in bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        warnings.warn(
            f"{where}: quality label(s) {shown} not among {', '.join(KNOWN_QUALITIES)}; shown as text, "
            "treated as not official",
            DataQualityWarning,
            stacklevel=2,
        )
    return bad


# ------------------------------------------------------------------ Content-Security-Policy

_OPEN_RE = re.compile(r"<(script|style)(\s[^>]*)?>", re.I)
_CLOSE_RE = {"script": re.compile(r"</script", re.I), "style": re.compile(r"</style", re.I)}
_SRC_RE = re.compile(r"\ssrc\s*=", re.I)
#: a ``<script>`` that is a data block, not a script: ``type="application/json"`` (or ``application/…+json``)
_DATA_TYPE_RE = re.compile(r"\stype\s*=\s*[\"']?application/(?:[a-z.+-]*\+)?json(?=[\"'\s>]|$)", re.I)
_CSP_META_RE = re.compile(r'<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"\s*/?>', re.I)
_SRCDOC_RE = re.compile(r'\ssrcdoc="([^"]*)"', re.I)


def sha256_source(text: str) -> str:
    """The CSP hash source (``'sha256-…'``) of an inline script or style body as the browser sees it."""
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii") + "'"


def inline_hashes(page: str) -> tuple[list[str], list[str]]:
    """Hash sources of the inline ``<script>`` and ``<style>`` elements of ``page`` (scripts, styles).

    Scripts with a ``src`` are left out (they are allowed by URL), and so are data blocks
    (``<script type="application/json">``: never run, so no policy applies; a large report's blocks
    hold tens of MB). Only the top-level page is read: an ``<iframe srcdoc>`` is one attribute, not
    elements.
    """
    scripts: list[str] = []
    styles: list[str] = []
    pos = 0
    while True:
        mt = _OPEN_RE.search(page, pos)
        if mt is None:
            break
        tag, attrs = mt.group(1).lower(), mt.group(2) or ""
        close = _CLOSE_RE[tag].search(page, mt.end())  # raw text: it ends at the first </script or </style
        if close is None:
            break
        end = close.start()
        pos = end
        if tag == "script":
            if not _SRC_RE.search(attrs) and not _DATA_TYPE_RE.search(attrs):
                scripts.append(sha256_source(page[mt.end():end]))
        else:
            styles.append(sha256_source(page[mt.end():end]))
    return list(dict.fromkeys(scripts)), list(dict.fromkeys(styles))


def tile_origins(url_template: str, subdomains: Sequence[str] | str = "") -> list[str]:
    """The ``scheme://host[:port]`` origins a Leaflet tile URL template loads from (``{s}`` expanded)."""
    subs = list(subdomains) if subdomains else ["a", "b", "c"]
    urls = [url_template.replace("{s}", s) for s in subs] if "{s}" in url_template else [url_template]
    out = []
    for u in urls:
        parts = urlsplit(u.replace("{", "").replace("}", ""))
        if parts.scheme in ("http", "https") and parts.netloc:
            out.append(f"{parts.scheme}://{parts.netloc}")
    return list(dict.fromkeys(out))


def content_security_policy(
    *,
    script_sources: Sequence[str] = (),
    style_sources: Sequence[str] = (),
    img_origins: Sequence[str] = (),
) -> str:
    """The policy text: nothing by default; scripts and styles from the given hash/URL sources;
    images from ``data:``, ``blob:`` and ``img_origins``; style attributes inline."""
    def src(items: Sequence[str]) -> str:
        return " ".join(dict.fromkeys(items)) or "'none'"

    return "; ".join([
        "default-src 'none'",
        f"script-src {src(script_sources)}",
        f"style-src {src(style_sources)}",
        "style-src-attr 'unsafe-inline'",
        "img-src " + " ".join(dict.fromkeys(["data:", "blob:", *img_origins])),
        "connect-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ])


def read_csp(page: str) -> dict[str, list[str]] | None:
    """The directives of the page's CSP ``<meta>`` (``None`` when it has none)."""
    mt = _CSP_META_RE.search(page)
    if not mt:
        return None
    out: dict[str, list[str]] = {}
    for part in html.unescape(mt.group(1)).split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


def external_origins(policy: Mapping[str, Sequence[str]]) -> list[str]:
    """Every source of a policy that names a host (``https://…``), in order, without repeats."""
    return list(dict.fromkeys(s for vals in policy.values() for s in vals if re.match(r"(https?:)?//|[a-z0-9.-]+\.[a-z]{2,}", s, re.I)))


def _srcdoc_csp(attr: str) -> dict[str, list[str]]:
    """The CSP of the page in a ``srcdoc`` attribute (escaped HTML), unescaping only its head: a large
    embedded map (tens of MB of escaped data) is not unescaped as a whole."""
    at = attr.find("Content-Security-Policy")
    if at < 0:
        return {}
    end = attr.find("&gt;", at)
    return read_csp(html.unescape(attr[: end + 4] if end >= 0 else attr)) or {}


def add_csp(
    page: str,
    *,
    img_origins: Sequence[str] = (),
    script_urls: Sequence[str] = (),
    style_urls: Sequence[str] = (),
) -> str:
    """``page`` with a Content-Security-Policy ``<meta>`` as the first element after ``<meta charset>``.

    Any existing CSP ``<meta>`` of the page is replaced. Inline scripts and styles are allowed by
    hash (computed here, so call this on the finished page); the sources of every embedded
    ``<iframe srcdoc>`` page's own CSP are merged in, because the embedded page inherits this
    policy as well.

    Parameters
    ----------
    img_origins
        Origins images may come from besides ``data:``/``blob:`` (the tile server of a basemap).
    script_urls, style_urls
        URLs of external scripts and stylesheets (only for maps that link a CDN on request).
    """
    if "Content-Security-Policy" in page:
        page = _CSP_META_RE.sub("", page)
    scripts, styles = inline_hashes(page)
    scripts = [*scripts, *script_urls]
    styles = [*styles, *style_urls]
    imgs = list(img_origins)
    for mt in (_SRCDOC_RE.finditer(page) if "srcdoc=" in page else ()):
        inner = _srcdoc_csp(mt.group(1))
        scripts += [s for s in inner.get("script-src", []) if s != "'none'"]
        styles += [s for s in inner.get("style-src", []) if s != "'none'"]
        imgs += [s for s in inner.get("img-src", []) if s not in ("data:", "blob:")]
    policy = content_security_policy(script_sources=scripts, style_sources=styles, img_origins=imgs)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy, quote=False).replace(chr(34), "&quot;")}">'
    charset = re.compile(r"<meta[^>]*charset[^>]*>", re.I).search(page, 0, 4096)
    if charset:
        return page[: charset.end()] + "\n" + meta + page[charset.end():]
    head = re.compile(r"<head[^>]*>", re.I).search(page, 0, 4096)
    if head:
        return page[: head.end()] + "\n" + meta + page[head.end():]
    return meta + "\n" + page


__all__ = [
    "KNOWN_QUALITIES",
    "add_csp",
    "check_quality_labels",
    "content_security_policy",
    "css_colour",
    "escape_html",
    "external_origins",
    "inline_hashes",
    "js_literal",
    "json_script",
    "read_csp",
    "sha256_source",
    "tile_origins",
    "unknown_quality_labels",
]
