"""``xclz-geo efficiency --year/--history``, ``efficiency compare`` and ``efficiency history`` end to end.

The two synthetic years are those of ``test_history.py`` (every transition known by hand).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from test_history import EXPECTED, PROFILE, Y2023, Y2024
from xclz_geo.cli.main import main


@pytest.fixture
def years(tmp_path):
    prof = tmp_path / "profile.toml"
    prof.write_text(PROFILE, encoding="utf-8")
    files = {}
    for y, rows in ((2023, Y2023), (2024, Y2024)):
        f = tmp_path / f"firms_{y}.csv"
        pd.DataFrame(rows).to_csv(f, index=False, encoding="utf-8-sig")
        files[y] = f
    return prof, files


def _store(tmp_path, prof, f, year, *extra):
    return main(["efficiency", "--enterprises", str(f), "--method", str(prof), "--no-zone", "--out",
                 str(tmp_path / f"out_{year}"), "--year", str(year), "--history", str(tmp_path / "h.sqlite"), *extra])


def test_two_years_through_the_cli_give_the_expected_transitions(tmp_path, years, capsys):
    prof, files = years
    assert _store(tmp_path, prof, files[2023], 2023) == 0
    assert "stored year 2023" in capsys.readouterr().out
    assert _store(tmp_path, prof, files[2024], 2024) == 0
    summ = json.loads((tmp_path / "out_2024" / "summary.json").read_text(encoding="utf-8"))
    assert summ["history"]["year"] == 2024 and summ["history"]["n_firms"] == 10
    capsys.readouterr()
    out = tmp_path / "cmp"
    rc = main(["efficiency", "compare", "--history", str(tmp_path / "h.sqlite"), "--from", "2023", "--to", "2024",
               "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "升档 2, 降档 2, 持平 5, 新增 1, 退出 1" in text
    assert "matched by name, not by 统一社会信用代码: 2" in text
    assert "连续2年D类" in text and "METHOD CHANGED" not in text
    assert sorted(p.name for p in out.iterdir()) == ["by_industry.csv", "by_part.csv", "matrix.csv", "summary.json", "transitions.csv"]
    t = pd.read_csv(out / "transitions.csv", encoding="utf-8-sig", dtype=str)
    got = {}
    for _, r in t.iterrows():
        key = r["name"]
        if key == "同名企业":
            key = "同名企业@Q" if r["class_from"] == "C" else "同名企业@P"
        got[key] = tuple(None if pd.isna(r[c]) else r[c] for c in ("class_from", "class_to", "change", "match"))
    assert got == EXPECTED
    m = pd.read_csv(out / "matrix.csv", encoding="utf-8-sig", index_col=0)
    assert m.to_numpy().tolist() == [[1, 0, 0, 1], [0, 2, 1, 0], [0, 1, 1, 0], [1, 0, 0, 1]]
    # 庚铸造 was D both years: the D trigger of the default rules
    assert t.set_index("name").loc["庚铸造", "consecutive_d_years"] == "2"
    # the inputs' names and parameters are kept with the year
    capsys.readouterr()
    assert main(["efficiency", "history", "--history", str(tmp_path / "h.sqlite"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [y["year"] for y in doc["years"]] == [2023, 2024]
    inp = doc["years"][1]["inputs"]
    assert inp["enterprises"] == str(files[2024]) and inp["method"] == str(prof) and len(inp["enterprises_sha256"]) == 16
    assert main(["efficiency", "history", "--history", str(tmp_path / "h.sqlite")]) == 0
    assert "2023: 10 firms" in capsys.readouterr().out


def test_a_stored_year_needs_replace(tmp_path, years, capsys):
    prof, files = years
    assert _store(tmp_path, prof, files[2023], 2023) == 0
    capsys.readouterr()
    assert _store(tmp_path, prof, files[2024], 2023) == 2
    err = capsys.readouterr().err
    assert "year 2023 is stored already; add --replace" in err and "Traceback" not in err
    assert _store(tmp_path, prof, files[2024], 2023, "--replace", "--overwrite") == 0
    assert "replaced year 2023" in capsys.readouterr().out


def test_method_change_through_the_cli(tmp_path, years, capsys):
    prof, files = years
    other = tmp_path / "other.toml"
    other.write_text(PROFILE.replace("shares = [0.2, 0.3, 0.3, 0.2]", "shares = [0.1, 0.4, 0.4, 0.1]"), encoding="utf-8")
    assert _store(tmp_path, prof, files[2023], 2023) == 0
    assert _store(tmp_path, other, files[2024], 2024) == 0
    capsys.readouterr()
    args = ["efficiency", "compare", "--history", str(tmp_path / "h.sqlite"), "--from", "2023", "--to", "2024",
            "--out", str(tmp_path / "c")]
    assert main(args) == 2
    assert "--allow-method-change" in capsys.readouterr().err
    assert main([*args, "--allow-method-change"]) == 0
    assert "METHOD CHANGED" in capsys.readouterr().out
    assert main([*args, "--allow-method-change", "--json", "--overwrite"]) == 0
    assert json.loads(capsys.readouterr().out)["method_changed"] is True


def test_history_argument_errors(tmp_path, years, capsys):
    prof, files = years
    rc = main(["efficiency", "--enterprises", str(files[2023]), "--method", str(prof), "--no-zone", "--out",
               str(tmp_path / "o"), "--year", "2023"])
    assert rc == 2 and "--year and --history go together" in capsys.readouterr().err
    assert main(["efficiency", "history", "--history", str(tmp_path / "none.sqlite")]) == 2
    assert "history file not found" in capsys.readouterr().err
    assert main(["efficiency", "compare", "--history", str(tmp_path / "none.sqlite")]) == 2
    assert "--from YEAR --to YEAR --out DIR" in capsys.readouterr().err
    # no action: the evaluation works exactly as before and stores nothing
    assert main(["efficiency", "--enterprises", str(files[2023]), "--method", str(prof), "--no-zone",
                 "--out", str(tmp_path / "plain")]) == 0
    assert "history" not in json.loads((tmp_path / "plain" / "summary.json").read_text(encoding="utf-8"))
    assert not (tmp_path / "h.sqlite").exists()


def test_compare_csv_safe_keeps_a_formula_name_as_text(tmp_path, years, capsys):
    prof, files = years
    for y in (2023, 2024):
        df = pd.read_csv(files[y], encoding="utf-8-sig", dtype=str)
        df.loc[df["企业名称"] == "丙电子", "企业名称"] = "=HYPERLINK(\"http://x\")"
        df.to_csv(files[y], index=False, encoding="utf-8-sig")
        assert _store(tmp_path, prof, files[y], y) == 0
    args = ["efficiency", "compare", "--history", str(tmp_path / "h.sqlite"), "--from", "2023", "--to", "2024"]
    assert main([*args, "--out", str(tmp_path / "plain")]) == 0
    assert main([*args, "--out", str(tmp_path / "safe"), "--csv-safe"]) == 0
    plain = pd.read_csv(tmp_path / "plain" / "transitions.csv", encoding="utf-8-sig", dtype=str)
    safe = pd.read_csv(tmp_path / "safe" / "transitions.csv", encoding="utf-8-sig", dtype=str)
    assert '=HYPERLINK("http://x")' in set(plain["name"])
    assert "'=HYPERLINK(\"http://x\")" in set(safe["name"]) and not safe["name"].str.startswith("=").any()


@pytest.mark.parametrize("action, absent, present", [
    ("history", ["--year", "--replace", "--from", "--to", "--allow-method-change"], ["--history"]),
    ("compare", ["--year", "--replace"], ["--history", "--from", "--to", "--allow-method-change"]),
])
def test_each_history_action_lists_only_its_own_options(action, absent, present, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["efficiency", action, "--help"])
    assert exc.value.code == 0
    usage = capsys.readouterr().out.split("\n\n")[0]  # the usage paragraph names every option the parser has
    for opt in present:
        assert f"[{opt}" in usage, opt
    for opt in absent:
        assert f"[{opt}" not in usage, opt


def test_history_rejects_an_option_of_another_action(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["efficiency", "history", "--history", str(tmp_path / "h.sqlite"), "--year", "2024"])
    assert exc.value.code == 2
    assert "--year" in capsys.readouterr().err
