"""MkDocs hooks of the documentation site (mkdocs.yml ``hooks:``).

- **API reference pages are generated**: one page per subpackage of ``xclz_geo`` (``api/<name>.md``)
  plus ``api/core.md`` for the top-level modules, each a list of mkdocstrings ``:::`` blocks for every
  public module found in the source tree. A module added to the package appears in the reference
  without editing the docs; the pages join the "API reference" section of the nav.
- **Sphinx roles** in docstrings (``:func:`name```) are shown as plain code spans on the API pages.
- **Helpers' notes**: every ``docs/notes/*.md`` is listed under a "Notes" section of the nav. Helpers on
  the project leave user-facing notes of new features there; the lead folds them into the manual.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "xclz_geo"
API_SECTION = "API reference"
#: the command line is documented in the manuals, not in the API reference
SKIP = {"cli"}
#: subpackages in the order of the layers (docs/design/index.md); others follow alphabetically
ORDER = ["geo", "boundaries", "landuse", "efficiency", "outputs", "scale", "web"]


def _public(path: Path) -> bool:
    return not path.name.startswith("_")


def api_pages() -> dict[str, str]:
    """``{"api/<name>.md": markdown}`` for the top-level modules and each subpackage."""
    pages: dict[str, str] = {}
    top = sorted(p.stem for p in PKG.glob("*.py") if _public(p))
    body = ["# Core modules", "", "The top-level modules every subpackage may use.", ""]
    body += [f"::: xclz_geo.{m}\n" for m in top]
    pages["api/core.md"] = "\n".join(body)
    subs = [p for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists() and _public(p)]
    subs.sort(key=lambda p: (ORDER.index(p.name) if p.name in ORDER else len(ORDER), p.name))
    for sub in subs:
        if sub.name in SKIP:
            continue
        body = [f"# xclz_geo.{sub.name}", "", f"::: xclz_geo.{sub.name}", "    options:", "      members: false",
                "      show_root_heading: false", ""]
        body += [f"::: xclz_geo.{sub.name}.{p.stem}\n" for p in sorted(sub.glob("*.py")) if _public(p)]
        pages[f"api/{sub.name}.md"] = "\n".join(body)
    return pages


def on_config(config: Any, **kwargs: Any) -> Any:
    nav = config.get("nav")
    if nav is None:
        return config
    for entry in nav:
        if isinstance(entry, dict) and API_SECTION in entry:
            section = entry[API_SECTION]
            names = {next(iter(e.values())) if isinstance(e, dict) else e for e in section}
            for uri in api_pages():
                if uri not in names:
                    label = "core (errors, units, datasets, io …)" if uri == "api/core.md" else Path(uri).stem
                    section.append({label: uri})
    notes = sorted(Path(config["docs_dir"], "notes").glob("*.md"))
    if notes:
        nav.append({"开发记录 Developers' notes (folded into the chapters above)": [{p.stem: f"notes/{p.name}"} for p in notes]})
    return config


def on_files(files: Any, config: Any, **kwargs: Any) -> Any:
    from mkdocs.structure.files import File

    for uri, content in api_pages().items():
        if files.get_file_from_path(uri) is None:
            files.append(File.generated(config, uri, content=content))
    return files


_SPHINX_ROLE = re.compile(r":(?:py:)?(?:mod|func|class|meth|attr|data|obj|exc):(?=<code>)")


def on_page_content(html: str, page: Any, **kwargs: Any) -> str:
    """Drop the Sphinx roles (``:func:`x```) the docstrings use: mkdocstrings shows the code span only."""
    if page.file.src_uri.startswith("api/"):
        return _SPHINX_ROLE.sub("", html)
    return html
