"""Tables made the way bureaus make them, for the round-trip tests of tests/test_io.py and the CLI tests.

:func:`make_bureau_workbook` writes an XLSX with a title row and a note row above the header, the
Chinese sheet name ``企业名单`` and a second sheet ``说明``, 18-digit 统一社会信用代码 stored as text
cells and as "numbers stored as text" (text cells with the ``@`` format), parcel numbers ``0012``
as text and as the number 12 shown through the format ``0000``, dates as date cells (``yyyy/m/d``)
and as typed text, phone numbers as numbers and as text, BD-09 经度/纬度 with a blank and a text
coordinate. Firms and values are invented; quality ``synthetic``.

It returns what every data cell must read back as (the text the user typed or sees), so tests
compare outputs cell by cell without re-deriving the reader's rules.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from xclz_geo.geo import crs

HEADER = ["序号", "统一社会信用代码", "企业名称", "地块编号", "成立日期", "联系电话", "经度", "纬度",
          "用地面积(亩)", "实缴税金(万元)", "营业收入(万元)", "行业代码", "是否规上", "备注"]
TITLE = "宣城市某区规上工业企业亩均效益评价名单（2024年度）"
NOTE = "填报单位：经信局　　单位：万元、亩"


def bureau_rows(lon: float, lat: float) -> list[list[tuple]]:
    """Data rows as (value, number_format, expected text) per cell; ``lon``/``lat`` a WGS84 site inside the zone."""
    blon, blat = crs.convert_datum(lon, lat, from_datum="wgs84", to_datum="bd09")
    olon, olat = crs.convert_datum(lon + 0.4, lat, from_datum="wgs84", to_datum="bd09")
    g = "General"
    t = "@"
    d = "yyyy/m/d"

    def num(v, fmt=g):
        return (v, fmt, None)

    rows = [
        [num(1), ("91341800MA2N0C1234", g, None), ("宣城甲新材料有限公司", g, None), ("0012", g, None),
         (dt.datetime(2015, 3, 5), d, "2015/3/5"), (13912345678, g, "13912345678"), num(round(blon, 6)), num(round(blat, 6)),
         num(25.5), num(180), num(5200), ("3484", g, None), ("是", g, None), ("", g, None)],
        [num(2), ("913418001234567890", t, None), ("广德乙电子科技有限公司", g, None), (12, "0000", "0012"),
         ("2019.05.06", g, None), ("0563-6012345", g, None), num(round(olon, 6)), num(round(olat, 6)),
         num(40), num(120.25), num(8000), ("3985", g, None), ("是", g, None), ("园区外", g, None)],
        [num(3), ("91341800MA2N0C567X", g, None), ("宣城丙机械制造有限公司", g, None), ("0013", t, None),
         (dt.datetime(2008, 12, 1), d, "2008/12/1"), ("13800000000", t, None), (None, g, ""), num(round(blat, 6)),
         num(12), num(30), num(1500), ("3484", g, None), ("是", g, None), ("经度待补充", g, None)],
        [num(4), ("913418000000000017", t, None), ("宣城丁食品有限公司", g, None), ("0100", g, None),
         (dt.datetime(2021, 7, 9), "yyyy-mm-dd", "2021-07-09"), (18955501234, g, "18955501234"), ("待补充", g, None),
         ("待补充", g, None), num(8.25), num(16.5), num(2600), ("1469", g, None), ("是", g, None), ("", g, None)],
        [num(5), ("91341800MA2N0C9012", g, None), ("=HYPERLINK(\"http://x\",\"click\")", g, None), ("0101", g, None),
         (dt.datetime(2018, 1, 2), d, "2018/1/2"), ("", g, None), (str(round(blon, 6)), g, None), (str(round(blat, 6)), g, None),
         num(30), num(210), num(9100), ("3985", g, None), ("是", g, None), ("@SUM(A1)", g, None)],
    ]
    out = []
    for row in rows:
        cells = []
        for v, fmt, want in row:
            if want is None:
                want = "" if v is None else (v if isinstance(v, str) else (str(int(v)) if float(v).is_integer() else repr(float(v))))
            cells.append((v, fmt, want))
        out.append(cells)
    return out


def make_bureau_workbook(path: Path, lon: float, lat: float) -> dict:
    """Write the workbook; return ``{"rows": [[expected text, …], …], "row_numbers": […], "header_row": 3}``."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "企业名单"
    ws.append([TITLE])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    ws.append([NOTE])
    ws.append(HEADER)
    rows = bureau_rows(lon, lat)
    for r, row in enumerate(rows, start=4):
        for c, (v, fmt, _) in enumerate(row, start=1):
            if v is None:
                continue
            cell = ws.cell(row=r, column=c)
            cell.value = v
            if isinstance(v, str):
                cell.data_type = "s"  # text exactly as typed, also when it starts with '='
            cell.number_format = fmt
    notes = wb.create_sheet("说明")
    notes.append(["字段", "说明"])
    notes.append(["统一社会信用代码", "18位，按文本填写"])
    notes.append(["用地面积(亩)", 666.67])
    wb.save(path)
    return {"rows": [[w for _, _, w in row] for row in rows], "row_numbers": list(range(4, 4 + len(rows))), "header_row": 3}
