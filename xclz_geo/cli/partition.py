"""``xclz-geo partition``: write a large table or layer as spatially partitioned (Geo)Parquet for ``--engine dask``."""

from __future__ import annotations

import argparse
import sys

from xclz_geo.cli._common import print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "partition",
        help="write a big table or parcel layer as spatially partitioned (Geo)Parquet files (for --engine dask)",
        description="Sort rows along a Hilbert curve (or by geohash) and write one file per partition into --out, so that "
        "`xclz-geo locate/landuse --engine dask` can skip the files that touch no zone. Vector layers become GeoParquet "
        "(bbox in the metadata); tables keep their columns unchanged as Parquet (bbox of the valid coordinates in the "
        "metadata; rows with unreadable coordinates go to the last file).",
    )
    from xclz_geo.cli.options import add_crs, add_input, add_json, add_out, add_xy

    add_input(p, "table or vector file, or a folder/glob of Parquet/CSV", required=True, metavar="FILE|DIR|GLOB")
    add_out(p, "folder (created; must not hold part.* files)", required=True, metavar="DIR", overwrite=False)
    p.add_argument("--by", choices=["hilbert", "geohash"], default="hilbert", help="order: hilbert (default) or geohash")
    p.add_argument("--npartitions", type=int, metavar="N", help="number of files (default: one per 500,000 rows)")
    add_xy(p)
    add_crs(p, "projected x/y columns (geohash needs lon/lat)")
    p.add_argument("--layer", metavar="LAYER", help="layer of a GeoPackage input")
    add_json(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from xclz_geo.cli._common import check_output_folder, input_paths
    from xclz_geo.errors import InputDataError
    from xclz_geo.scale.jobs import partition_job

    if args.npartitions is not None and args.npartitions < 1:
        raise InputDataError("--npartitions must be at least 1")
    check_output_folder(args.out, members=("part.00000.parquet",), inputs=input_paths(args))
    summary = partition_job(args.input, args.out, by=args.by, npartitions=args.npartitions, x=args.x, y=args.y,
                            crs=args.crs, layer=args.layer)
    if args.json:
        print_json(summary)
    else:
        sys.stderr.write(f"xclz-geo: {summary['rows']:,} rows → {summary['partitions']} file(s) in {summary['output']} "
                         f"({summary['by']}, {summary['format']})\n")
    return 0


#: the public names of this module (``from … import *``, the API reference)
__all__ = ["register", "run"]
