"""MkDocs hook: list every ``docs/notes/*.md`` under a "Notes" section of the nav.

Helpers on the project leave user-facing notes of new features in ``docs/notes/<name>.md``; the lead
folds them into the manual. Until then they are built and reachable from the nav, whatever their names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def on_config(config: Any, **kwargs: Any) -> Any:
    notes = sorted(Path(config["docs_dir"], "notes").glob("*.md"))
    if notes and config.get("nav") is not None:
        section = [{p.stem: f"notes/{p.name}"} for p in notes]
        config["nav"].append({"新功能说明 Notes (to be folded in)": section})
    return config
