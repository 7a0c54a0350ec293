"""Time the table transformer on Adult train: fit, transform and inverse, both numeric modes.

    python benchmarks/transformer_speed.py [--data ../shared/data/adult/train.csv] [--repeat 3]

Prints a markdown table (best of ``--repeat`` runs per step) plus the output width and the
round-trip agreement of the decoded frame with the input.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from synthgen.schema import TableSchema, load_schema, parse_schema
from synthgen.tabular.transform import TableTransformer

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "adult" / "train.csv"
INTEGERS = ("age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week")


def adult_schema(path: Path) -> TableSchema:
    """``schemas/adult.yaml`` when present, else the same typing built here."""
    yaml_path = ROOT / "schemas" / "adult.yaml"
    if yaml_path.exists():
        schema = load_schema(yaml_path)
        assert isinstance(schema, TableSchema)
        return schema
    header = pd.read_csv(path, nrows=0).columns
    cols = [
        {"name": c, "type": "integer"}
        if c in INTEGERS
        else {"name": c, "type": "categorical", "nullable": True}
        for c in header
    ]
    return parse_schema(
        {"name": "adult", "missing_values": ["?", ""], "columns": cols, "target": "income"}
    )


def read_frame(path: Path, schema: TableSchema) -> pd.DataFrame:
    """The typed frame: ``synthgen.io.read_table`` when available, else pandas by hand."""
    try:
        from synthgen.tabular.io import read_table
    except ImportError:
        read_table = None
    if read_table is not None:
        return read_table(path, schema)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    raw = raw.replace(list(schema.missing_values), np.nan)
    out = {}
    for spec in schema.columns:
        if spec.type == "integer":
            out[spec.name] = pd.to_numeric(raw[spec.name]).astype("Int64")
        else:
            out[spec.name] = raw[spec.name].astype("str")
    return pd.DataFrame(out)


def agreement(a: pd.Series, b: pd.Series) -> float:
    same = (a == b).fillna(False).to_numpy(dtype=bool) | (a.isna() & b.isna()).to_numpy()
    return float(same.mean())


def bench(df: pd.DataFrame, schema: TableSchema, numeric: str, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        tt = TableTransformer(schema, numeric=numeric, seed=0).fit(df)
        t1 = time.perf_counter()
        X = tt.transform(df)
        t2 = time.perf_counter()
        back = tt.inverse_transform(X)
        t3 = time.perf_counter()
        runs.append((t1 - t0, t2 - t1, t3 - t2))
    best = dict(zip(("fit", "transform", "inverse"), np.min(runs, axis=0), strict=True))
    worst = min(agreement(df[c], back[c]) for c in back.columns)
    return {
        **best,
        "total": sum(best.values()),
        "first": sum(runs[0]),
        "dim": tt.output_dim_,
        "agree": worst,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    schema = adult_schema(args.data)
    t0 = time.perf_counter()
    df = read_frame(args.data, schema)
    read_s = time.perf_counter() - t0
    print(
        f"Adult train: {len(df):,} rows x {df.shape[1]} columns (read in {read_s:.2f} s); "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}; "
        f"steps: best of {args.repeat}; first run s: the first fit+transform+inverse in this "
        "process, sklearn import included\n"
    )
    print(
        "| numeric | fit s | transform s | inverse s | total s | first run s | output dim | "
        "worst column round-trip agreement |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for numeric in ("mode", "quantile"):
        r = bench(df, schema, numeric, args.repeat)
        print(
            f"| {numeric} | {r['fit']:.3f} | {r['transform']:.3f} | {r['inverse']:.3f} | "
            f"{r['total']:.3f} | {r['first']:.3f} | {r['dim']} | {r['agree']:.4f} |"
        )


if __name__ == "__main__":
    main()
