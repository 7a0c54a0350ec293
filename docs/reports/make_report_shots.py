"""Render the four reports (table evaluation, image evaluation, table screening, image
screening) with whichever synthgen is on sys.path, into OUT (argv[1])."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits

OUT = Path(sys.argv[1])
OUT.mkdir(parents=True, exist_ok=True)
os.environ["OMP_NUM_THREADS"] = "1"
exe = [
    sys.executable,
    "-c",
    "import sys; from synthgen.cli.main import main; sys.argv[0]='synthgen'; main()",
]


def run(*args):
    r = subprocess.run([*exe, *map(str, args)], capture_output=True, text=True, env={**os.environ})
    if r.returncode not in (0, 3):
        print(r.stderr[-2000:])
        raise SystemExit(1)


CENSUS = Path(sys.argv[2])  # the census data folder
work = OUT / "work"
work.mkdir(exist_ok=True)
raw = pd.read_csv(CENSUS / "census.csv", dtype=str, keep_default_na=False)
raw.iloc[:3000].to_csv(work / "train.csv", index=False)
raw.iloc[3000:4000].to_csv(work / "test.csv", index=False)
shutil.copy(CENSUS / "census.yaml", work / "census.yaml")
kind = (
    ["--kind", "vae"]
    if "--kind" in subprocess.run([*exe, "fit", "--help"], capture_output=True, text=True).stdout
    else ["--model", "vae"]
)
run(
    "fit",
    work / "train.csv",
    "--schema",
    work / "census.yaml",
    *kind,
    "-o",
    work / "m.synth",
    "--epochs",
    "10",
    "--overwrite",
    "-q",
)
run("generate", work / "m.synth", "--rows", "3000", "-o", work / "syn.csv", "--overwrite", "-q")
run(
    "evaluate",
    "--real",
    work / "train.csv",
    "--synthetic",
    work / "syn.csv",
    "--schema",
    work / "census.yaml",
    "--holdout",
    work / "test.csv",
    "--report",
    OUT / "evaluation.html",
    "--overwrite",
    "--fail-under",
    "quality=0.9",
)
run(
    "anomalies",
    "fit",
    work / "train.csv",
    "--schema",
    work / "census.yaml",
    "-o",
    work / "det.synth",
    "--overwrite",
)
bad = raw.iloc[3000:4000].copy()
bad.loc[bad.index[:5], "age"] = "90"
bad.loc[bad.index[:5], "education"] = "Preschool"
bad.loc[bad.index[5:8], "capital-gain"] = "99999"
bad.to_csv(work / "batch.csv", index=False)
run(
    "anomalies",
    "score",
    work / "batch.csv",
    "--model",
    work / "det.synth",
    "-o",
    work / "scored.csv",
    "--report",
    OUT / "screening.html",
    "--overwrite",
)
d = load_digits()
imgs = (d.images * 15).astype(np.uint8)
lab = d.target.astype(np.int64)
np.savez(work / "dtrain.npz", images=imgs[:1400], labels=lab[:1400])
np.savez(work / "dtest.npz", images=imgs[1400:], labels=lab[1400:])
(work / "digits.yaml").write_text(
    "schema_version: 1\nname: digits\nkind: image\n"
    "image: {height: 8, width: 8, channels: 1}\n"
    "source: {format: npz, images_key: images, labels_key: labels}\n"
    "label: {name: digit, values: [0,1,2,3,4,5,6,7,8,9]}\n"
)
run(
    "fit",
    work / "dtrain.npz",
    "--schema",
    work / "digits.yaml",
    *kind[:1],
    "vae",
    "-o",
    work / "d.synth",
    "--epochs",
    "20",
    "--overwrite",
    "-q",
)
run("generate", work / "d.synth", "--rows", "1000", "-o", work / "dsyn.npz", "--overwrite", "-q")
run(
    "evaluate",
    "--real",
    work / "dtrain.npz",
    "--synthetic",
    work / "dsyn.npz",
    "--schema",
    work / "digits.yaml",
    "--holdout",
    work / "dtest.npz",
    "--report",
    OUT / "image-evaluation.html",
    "--overwrite",
)
run(
    "anomalies",
    "fit",
    work / "dtrain.npz",
    "--schema",
    work / "digits.yaml",
    "-o",
    work / "ddet.synth",
    "--overwrite",
)
run(
    "anomalies",
    "score",
    work / "dtest.npz",
    "--model",
    work / "ddet.synth",
    "-o",
    work / "dscored.csv",
    "--report",
    OUT / "image-screening.html",
    "--overwrite",
)
for page in ("evaluation", "screening", "image-evaluation", "image-screening"):
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={work}/prof",
            "--hide-scrollbars",
            "--window-size=1366,4200",
            f"--screenshot={OUT}/{page}.png",
            f"file://{OUT}/{page}.html",
        ],
        capture_output=True,
        timeout=120,
    )
print("done", sorted(p.name for p in OUT.iterdir()))
