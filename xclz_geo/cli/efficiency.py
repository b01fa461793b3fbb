"""``xclz-geo efficiency``: 亩均效益 evaluation of an enterprise table, and its empty template."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xclz_geo.cli._common import (check_output_file, check_output_folder, coordinate_frame, dumps_json, input_paths,
                                  print_json)
from xclz_geo.cli.options import add_crs, add_datum, add_input, add_json, add_out, add_xy, add_zone, refuse_existing


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "efficiency",
        help="亩均效益 evaluation: per-mu indicators, scores, ranks and classes A–D of an enterprise table",
        description="Evaluate an enterprise table (CSV/XLSX with Chinese or English headers) by a method profile "
        "(anhui, zhejiang or your own TOML) and write DIR/scores.csv (UTF-8 with BOM), DIR/scores.xlsx and "
        "DIR/summary.json. Every input row comes out, in order, with every input column and a status "
        "(evaluated | not_evaluated | invalid) and reason. `xclz-geo efficiency template --out FILE.xlsx` "
        "writes an empty template with the headers and a notes sheet. Exit 0 when written (1 with --strict "
        "when a row is invalid), 2 for unreadable input or a malformed profile.",
    )
    # sub-actions are sub-subcommands; with none, `efficiency --input … --out …` evaluates (func=run below)
    esub = p.add_subparsers(dest="efficiency_command", metavar="ACTION")
    tpl = esub.add_parser(
        "template",
        help="write an empty XLSX template (headers, notes, field aliases) and stop",
        description="Write an empty enterprise template: sheet 企业数据 with the headers, 说明 with notes and 字段别名 "
        "with the Chinese, English and DBF-safe short names of every field.",
    )
    add_out(tpl, "XLSX template file", required=True, metavar="FILE.xlsx")
    add_json(tpl)
    tpl.set_defaults(func=run_template)
    add_input(p, "enterprise table (.csv UTF-8/GBK, .xlsx, .parquet)", also=["--enterprises"])
    for action, helptext in (("compare", "year-over-year transitions of a --history file (classes A–D, by part and industry)"),
                             ("history", "list the years stored in a --history file")):
        hp = esub.add_parser(action, help=helptext, description=helptext + ".")
        _register_history(hp, action=action)
        if action == "compare":
            add_out(hp, "folder (created when missing)", metavar="DIR")
            hp.add_argument("--csv-safe", action="store_true",
                            help="CSV outputs: prefix ' to cells starting with = + - @ (Excel then shows them as text, never "
                            "as formulas); default: every cell written exactly as read")
        add_json(hp)
        hp.set_defaults(func=_history_action, action=action)
    p.add_argument("--sheet", metavar="NAME", help="sheet of an XLSX file, by name or number (default: the first)")
    p.add_argument("--header-row", type=int, metavar="N",
                   help="row of the table's header, 1 = the first row (default: found; title rows above it are passed over)")
    p.add_argument("--csv-safe", action="store_true",
                   help="CSV outputs: prefix ' to cells starting with = + - @ (Excel then shows them as text, never as "
                   "formulas); default: every cell written exactly as read")
    p.add_argument("--method", default="anhui", metavar="anhui|zhejiang|PROFILE.toml",
                   help="method profile (default anhui; see data/methods/README.md)")
    p.add_argument("--benchmarks", metavar="FILE", help="fixed benchmarks CSV (group, indicator, benchmark) for ratio methods")
    p.add_argument("--parcels", metavar="FILE", help="parcel layer with status attributes: also write DIR/intensity.csv "
                   "(TD/T 1029 indicators) and DIR/underused.csv + DIR/underused.gpkg (under-used land)")
    p.add_argument("--tax-share-of-median", type=float, default=0.5, metavar="X",
                   help="under-used: 亩均税收 below X × the zone median (default 0.5; 0 switches the rule off)")
    p.add_argument("--coverage-min-pct", type=float, default=30.0, metavar="PCT",
                   help="under-used: 建筑系数 below PCT %% (default 30, the 2008 control indicators; 0 switches it off)")
    add_zone(p)
    p.add_argument("--no-zone", action="store_true", help="do not locate firms in the zone (no per-part summary)")
    add_datum(p)
    add_crs(p, "the coordinate columns when they hold projected x/y (东坐标/北坐标)")
    add_xy(p)
    add_out(p, "folder (created when missing)", metavar="DIR")
    p.add_argument("--field", action="append", default=[], metavar="NAME=COLUMN",
                   help="use COLUMN for field NAME (repeatable), e.g. --field 实缴税金=TAX2023 or, for --parcels, "
                   "--field 建筑基底面积=JDMJ_2023; NAME is the Chinese or English name or a short alias (see `efficiency template`)")
    p.add_argument("--strict", action="store_true", help="exit 1 when any row is invalid")
    add_json(p)  # summary.json on stdout as well
    _register_history(p, action="store")  # storing a year: --history H.sqlite --year Y
    p.set_defaults(func=run)


def run_template(args: argparse.Namespace) -> int:
    """``efficiency template --out FILE.xlsx``."""
    from xclz_geo.efficiency.evaluate import template

    check_output_file(args.out, suffixes={".xlsx"}, inputs=input_paths(args))
    refuse_existing([args.out], overwrite=args.overwrite)
    path = template(args.out)
    if args.json:
        print_json({"template": str(path)})
    else:
        print(f"wrote {path} (sheets 企业数据, 说明, 字段别名: Chinese, English and DBF-safe short names of every field)")
    return 0


def run(args: argparse.Namespace) -> int:
    from xclz_geo.errors import InputDataError

    args.enterprises = args.input
    if not args.enterprises or not args.out:
        raise InputDataError("efficiency: give --input FILE and --out DIR (or `efficiency template --out FILE.xlsx`)")
    coordinate_frame(args)  # --datum/--crs checked (and --datum set to wgs84 for projected --crs) before any work
    from xclz_geo.fieldnames import check_field_names, use_field_map

    check_field_names(_field_map(args), ("efficiency", "parcels") if args.parcels else ("efficiency",))
    _check_history_args(args)  # --year/--history: a stored year without --replace fails before any work
    with use_field_map(_field_map(args)):
        return _evaluate(args)


def _field_map(args: argparse.Namespace) -> dict[str, str]:
    from xclz_geo.fieldnames import parse_field_args

    return parse_field_args(getattr(args, "field", None))


def _evaluate(args: argparse.Namespace) -> int:
    from xclz_geo.efficiency.evaluate import evaluate, load_method, read_enterprises
    from xclz_geo.errors import InputDataError
    from xclz_geo.io import atomic_output_set, write_table
    from xclz_geo.cli._common import load_zone

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputDataError(f"{out}: --out must be a folder")
    # the files of one run: written into a temporary folder inside --out and moved in together at the end
    members = ["scores.csv", "scores.xlsx", "summary.json"]
    if args.parcels:
        members += ["intensity.csv", "underused.csv", "underused.gpkg"]
    check_output_folder(out, members=members, inputs=input_paths(args))
    refuse_existing([out / m for m in members], overwrite=args.overwrite)
    method = load_method(args.method)  # a malformed profile fails before the table is read
    # --field: strict for the enterprise table alone; with --parcels, names of parcel fields are allowed too
    table = read_enterprises(args.enterprises, sheet=args.sheet, header_row=args.header_row,
                             x=args.x, y=args.y, crs=getattr(args, "projected_crs", None),
                             **({} if args.parcels else {"field_map": _field_map(args)}))
    zone = None
    if not args.no_zone and (table.data["lon"].notna().any() or args.boundaries):
        try:
            zone = load_zone(args)
        except ImportError:  # pragma: no cover - locate.py missing from a partial install
            zone = None
        if zone is not None and not zone.has_geometry:
            sys.stderr.write("xclz-geo: warning: the zone has no polygons; firms are not located (no per-part summary)\n")
            zone = None
    res = evaluate(table, method=method, zone=zone, benchmarks=args.benchmarks, datum=args.datum)
    stored = _store_history(args, res)  # None without --history
    with atomic_output_set(out, members=members) as outset:
        stage = outset.stage
        land_msg = _land(args, res, zone, stage) if args.parcels else None
        scores = res.scores
        _write_scores(res, stage, csv_safe=args.csv_safe)
        (stage / "summary.json").write_text(dumps_json(res.summary) + "\n", encoding="utf-8")
    c = res.summary["counts"]
    if args.json:
        print_json(res.summary)
    else:
        print(f"{len(scores)} rows: {c['evaluated']} evaluated, {c['not_evaluated']} not evaluated, {c['invalid']} invalid "
              f"(method {res.method.id})")
        for gid, g in res.summary["groups"].items():
            if g.get("class_counts"):
                cc = ", ".join(f"{k} {v}" for k, v in g["class_counts"].items())
                print(f"  {g['name_zh']}: {g['n']} firms — {cc}")
        coords = getattr(res.enterprises, "coordinates", None) or {}
        if coords.get("x") and coords.get("y"):
            print(f"  coordinates: columns {coords['x']} / {coords['y']}" + (f" ({coords['crs']} → WGS84)" if coords.get("crs") else
                                                                          f" ({args.datum})"))
        unknown = res.summary["input"]["unknown_columns"]
        if unknown:
            print(f"  columns not recognised (kept, not used): {', '.join(unknown)}")
        for h, full in res.summary["input"].get("fuzzy_matches", {}).items():
            print(f"  column {h} taken for {full} (name cut to 10 bytes?); if wrong: --field NAME=COLUMN")
        for m in res.summary["input"].get("missing_fields", []):
            print(f"  missing field {m['header_zh']}: {'、'.join(m['indicators'])} empty for every firm "
                  f"(scored by the missing rule) — {m['hint']}")
        if res.summary["input"].get("rows_with_notes"):
            print(f"  {res.summary['input']['rows_with_notes']} row(s) have a value that could not be read in a column the "
                  "method does not need: kept in the ranking, see column xclz_note")
        for c in res.summary.get("checks", []):
            print(f"  check: {c['message']}")
        if res.summary["disclaimer"]:
            print(f"note: {res.summary['disclaimer']}")
        if res.summary["data_quality"] != "unlabelled":
            print(f"data quality: {res.summary['data_quality']}")
        if land_msg:
            print(land_msg)
        if stored:
            print(_stored_message(args, stored))
        print(f"wrote {out / 'scores.csv'}, {out / 'scores.xlsx'}, {out / 'summary.json'}")
    return 1 if args.strict and c["invalid"] else 0


def _land(args: argparse.Namespace, res, zone, out: Path) -> str:  # noqa: ANN001
    """TD/T 1029 indicators and under-used land from --parcels (with the evaluated firms)."""
    from xclz_geo.efficiency.intensity import UnderusedRules, intensity, underused
    from xclz_geo.io import read_vector, write_table

    parcels = read_vector(args.parcels)
    ti = intensity(parcels, zone=zone)
    write_table(ti.table, out / "intensity.csv", csv_safe=args.csv_safe)
    rules = UnderusedRules.defaults()
    rules.tax_share_of_median = args.tax_share_of_median or None
    rules.coverage_min_pct = args.coverage_min_pct or None
    u = underused(parcels=parcels, firms=res, zone=zone, rules=rules)
    write_table(u.table, out / "underused.csv", csv_safe=args.csv_safe)
    if len(u.layer):
        write_table(u.layer, out / "underused.gpkg")
    res.summary["intensity"] = {"units": ti.summary["units"], "notes": ti.summary["notes"], "quality": ti.summary["quality"],
                                "missing_fields": ti.summary.get("missing_fields", []), "checks": ti.summary.get("checks", [])}
    res.summary["underused"] = u.summary
    lines = [f"  parcels: {m['message']}" for m in ti.summary.get("missing_fields", [])]
    lines += [f"  parcels check: {c['message']}" for c in ti.summary.get("checks", [])]
    return "\n".join(lines + [""]) + (f"under-used: {u.summary['underused']} of {u.summary['checked']} parcels/firms, "
            f"{u.total_freeable_mu:,.1f} 亩 could be freed (estimate); wrote intensity.csv, underused.csv"
            + (", underused.gpkg" if len(u.layer) else ""))


def _method_rows(res) -> list[dict[str, str]]:  # noqa: ANN001
    m = res.method.to_dict()
    rows = [{"item": k, "value": str(m[k])} for k in ("id", "name_zh", "source", "year", "confirmed", "disclaimer")]
    for gid, g in m["groups"].items():
        for it in g["indicators"]:
            rows.append({"item": f"{gid}.{it['id']} ({it['name_zh']})", "value": f"weight {it['weight']:g}; confirmed {it['confirmed']}"})
    rows.append({"item": "classes", "value": f"{m['classes']['labels']} {m['classes']['shares']}; confirmed {m['classes']['confirmed']}"})
    rows.append({"item": "data quality", "value": str(res.summary["data_quality"])})
    return rows


def _summary_sheets(res) -> dict:  # noqa: ANN001
    import pandas as pd

    sheets = {}
    for name, df in (("by_class", res.by_class), ("by_industry", res.by_industry),
                     ("by_part", res.by_part), ("by_block", res.by_block)):
        if len(df):
            sheets[name] = df
    sheets["method"] = pd.DataFrame(_method_rows(res))
    return sheets


def _write_scores(res, out: Path, *, csv_safe: bool = False) -> None:  # noqa: ANN001
    """scores.csv and scores.xlsx: every input cell as read (text), then the computed columns.

    From a workbook, scores.xlsx is the user's workbook — every sheet in order, the enterprise
    sheet with its name, title rows and cells unchanged and the computed columns to the right —
    followed by the summary sheets and the method. A computed column whose name the input already
    uses is written as NAME_xclz (the user's column is never overwritten)."""
    from xclz_geo.io import write_table, write_table_back, write_xlsx

    text = getattr(res.enterprises, "text", None)
    n_in = len(res.enterprises.raw.columns)
    if text is None or len(text.frame.columns) != n_in or len(res.scores) != len(text.frame):
        write_table(res.scores, out / "scores.csv", csv_safe=csv_safe)
        write_xlsx({"scores": res.scores, **_summary_sheets(res)}, out / "scores.xlsx")
        return
    added = res.scores.iloc[:, n_in:]
    write_table_back(text, added, out / "scores.csv", csv_safe=csv_safe, on_clash="rename")
    write_table_back(text, added, out / "scores.xlsx", sheet_name="scores", extra_sheets=_summary_sheets(res),
                     on_clash="rename")


# ------------------------------------------------------------------ history (issue 16): --year/--history, compare, history


def _register_history(p: argparse.ArgumentParser, *, action: str) -> None:
    """Options of the evaluation history that apply to ``action``: ``store`` (the evaluation itself),
    ``compare`` or ``history`` — each parser lists only its own, so ``--help`` shows nothing that does not apply."""
    g = p.add_argument_group("history (逐年评价)", "store each year's evaluation in one SQLite file and compare years: "
                             "`efficiency --enterprises T --year 2024 --history H.sqlite --out DIR`, "
                             "`efficiency compare --history H.sqlite --from 2023 --to 2024 --out DIR`, "
                             "`efficiency history --history H.sqlite`")
    g.add_argument("--history", metavar="H.sqlite",
                   help="evaluation history file" + (" (created when missing)" if action == "store" else ""))
    if action == "store":
        g.add_argument("--year", type=int, metavar="YYYY", help="the evaluation year to store (with --history)")
        g.add_argument("--replace", action="store_true", help="replace a year that is stored already")
    elif action == "compare":
        g.add_argument("--from", dest="year_from", type=int, metavar="YYYY", help="the earlier year")
        g.add_argument("--to", dest="year_to", type=int, metavar="YYYY", help="the later year")
        g.add_argument("--allow-method-change", action="store_true",
                       help="allow two years scored with different method profiles (the output says so)")


def _check_history_args(args: argparse.Namespace) -> None:
    """--year and --history go together; a stored year without --replace is refused before the evaluation runs."""
    from xclz_geo.errors import InputDataError

    history, year = getattr(args, "history", None), getattr(args, "year", None)
    if history is None and year is None:
        return
    if history is None or year is None:
        raise InputDataError("efficiency: --year and --history go together (e.g. --year 2024 --history history.sqlite)")
    if not 1990 <= year <= 2100:
        raise InputDataError(f"--year {year}: give the evaluation year as four digits, e.g. 2024")
    from pathlib import Path as _P

    if _P(history).is_file() and not args.replace:
        from xclz_geo.efficiency.history import list_years

        if any(r["year"] == year for r in list_years(history)):
            raise InputDataError(f"{history}: year {year} is stored already; add --replace to overwrite it")


def _store_history(args: argparse.Namespace, res) -> dict | None:  # noqa: ANN001
    """Store the evaluated year in --history (inputs' names and parameters recorded); the record, or None."""
    if not getattr(args, "history", None):
        return None
    from xclz_geo.efficiency.history import store_year

    inputs = {
        "enterprises": str(args.enterprises), "sheet": args.sheet, "method": str(args.method),
        "header_row": getattr(args, "header_row", None), "benchmarks": args.benchmarks, "boundaries": args.boundaries, "boundaries_layer": args.boundaries_layer,
        "datum": args.datum, "crs": args.crs, "x": args.x, "y": args.y, "no_zone": bool(args.no_zone), "parcels": args.parcels, "field": list(args.field or []),
        "out": str(args.out),
    }
    p = Path(args.enterprises)
    if p.is_file():
        import hashlib

        inputs["enterprises_sha256"] = hashlib.sha256(p.read_bytes()).hexdigest()[:16]
    rec = store_year(args.history, res, year=args.year, replace=args.replace, inputs=inputs)
    res.summary["history"] = {"file": str(args.history), **rec}
    return rec


def _stored_message(args: argparse.Namespace, rec: dict) -> str:
    verb = "replaced" if rec.get("replaced") else "stored"
    return (f"history: {verb} year {rec['year']} in {args.history} ({rec['n_firms']} firms, method {rec['method_id']} "
            f"{rec['method_hash']}) — 已存入评价历史")


def _history_action(args: argparse.Namespace) -> int:
    """`efficiency compare` and `efficiency history`."""
    from xclz_geo.errors import InputDataError
    from xclz_geo.efficiency import history as hist

    if not args.history:
        raise InputDataError(f"efficiency {args.action}: give --history H.sqlite (the file `efficiency --year Y --history H.sqlite` writes)")
    if args.action == "history":
        years = hist.list_years(args.history)
        if args.json:
            print_json({"history": str(args.history), "years": years})
            return 0
        if not years:
            print(f"{args.history}: no year stored — 尚未存入任何年度")
            return 0
        print(f"{args.history}: {len(years)} stored year(s) 已存年度")
        for y in years:
            src = (y.get("inputs") or {}).get("enterprises") or "—"
            print(f"  {y['year']}: {y['n_firms']} firms 企业, method {y['method_id']} ({y['method_hash']}), "
                  f"data {y['data_quality'] or 'unlabelled'}, boundaries {y['boundary_version'] or '—'}, "
                  f"from {src}, stored {y['stored_at']}")
        return 0
    # compare
    if args.year_from is None or args.year_to is None or not args.out:
        raise InputDataError("efficiency compare: give --from YEAR --to YEAR --out DIR (and --history H.sqlite)")
    from xclz_geo.cli._common import check_output_folder, input_paths

    members = ["transitions.csv", "matrix.csv", "by_part.csv", "by_industry.csv", "summary.json"]
    check_output_folder(args.out, members=members, inputs=input_paths(args))
    refuse_existing([Path(args.out) / m for m in members], overwrite=getattr(args, "overwrite", False))
    cmp = hist.compare_years(args.history, year_from=args.year_from, year_to=args.year_to,
                             allow_method_change=args.allow_method_change)
    paths = hist.write_comparison(cmp, args.out, csv_safe=bool(getattr(args, "csv_safe", False)))
    s = cmp.summary
    if args.json:
        print_json({**s, "files": [str(p) for p in paths]})
        return 0
    print(_compare_text(s))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _compare_text(s: dict) -> str:
    """The short Chinese/English console summary of a comparison."""
    y0, y1 = s["years"]
    c = s["counts"]
    lines = [f"{y0} → {y1}: {s['firms']['rows']} firms 企业 ({s['firms']['from']} in {y0}, {s['firms']['to']} in {y1})",
             "  " + ", ".join(f"{k} {c[k]}" for k in c)
             + "  (升档 up, 降档 down, 持平 same, 新增 new, 退出 left)"]
    n = s["rules"]["consecutive_d_trigger_years"]
    lines.append(f"  连续{n}年D类 D for {n}+ years running: {s['d_trigger']} firm(s) (column consecutive_d_years)")
    fallback = {k: v for k, v in s["match"].items() if k in ("name_location", "name_only")}
    if fallback:
        lines.append(f"  matched by name, not by 统一社会信用代码: {sum(fallback.values())} "
                     f"({', '.join(f'{k} {v}' for k, v in fallback.items())}) — check the match column")
    if s.get("ambiguous_names"):
        lines.append(f"  同名无法区分 names left unmatched: {', '.join(s['ambiguous_names'])}")
    if s.get("method_changed"):
        lines.append(f"  方法变更 METHOD CHANGED between the years: {s['methods'][str(y0)]['id']} → {s['methods'][str(y1)]['id']}; "
                     "class changes partly reflect the method (compared with --allow-method-change)")
    for n_ in s.get("notes", []):
        if "method changed" not in n_:
            lines.append(f"  note: {n_}")
    return "\n".join(lines)


#: the public names of this module (``from … import *``, the API reference)
__all__ = [
    "register", "run"
]
