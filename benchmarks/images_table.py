"""The markdown and JSON of ``benchmarks/images.py`` (independent judges, every image kind)."""

from __future__ import annotations

import json
from pathlib import Path

GOAL_COND, GOAL_TSTR, GOAL_FIT_S = 0.98, 0.95, 300.0


def num(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def per_judge(judged: dict, key: str) -> str:
    return " / ".join(num(judged[j][key]) for j in judged)


def fid_cells(f: dict) -> list[str]:
    return [
        f"{num(f['frechet'], 2)} ({num(f['frechet_floor'], 2)})",
        f"{num(f['precision'])} ({num(f['precision_floor'])})",
        f"{num(f['recall'])} ({num(f['recall_floor'])})",
    ]


def judged_row(r: dict, count_key: str) -> str:
    """One kind's row of a judged table: name, fit s, ``r[count_key]`` (steps or epochs), the
    judges' conditional accuracy and TSTR, then the fidelity cells."""
    return (
        f"| {r['model']} | {r['fit_s']:.0f} | {r[count_key]} | "
        f"{per_judge(r['judges'], 'conditional_accuracy')} | "
        f"{per_judge(r['judges'], 'tstr_accuracy')} | "
        + " | ".join(fid_cells(r["fidelity"]))
        + " |"
    )


def mnist_lines(doc: dict) -> list[str]:
    judges = doc["judges"]
    names = " / ".join(judges)
    lines = [
        f"MNIST10k: {doc['train_rows']:,} train / 2,000 test digits. Machine: {doc['machine']}.",
        "",
        "Judges: benchmark-only classifiers trained on the real train split, never used by any "
        "model's training or model selection. Floor = the judge's accuracy on the real test "
        "split when trained on the real train split.",
        "",
        "| judge | recipe | floor (real train → real test) | fit s |",
        "|---|---|---|---|",
    ]
    for name, j in judges.items():
        lines.append(
            f"| {name} | {j['description']} | {num(j['real_test_accuracy'])} | {j['fit_s']:.0f} |"
        )
    lines += [
        "",
        f"Per kind, at its defaults (seed 0). Conditional accuracy: images generated per digit, "
        f"read by each judge ({names}). TSTR: each judge's recipe trained on generated images, "
        "tested on the real test split. Fréchet distance and precision/recall (k=3) in the "
        "penultimate layer of the cnn judge, real-vs-real floor in brackets. Last column: "
        "synthgen's own classifier (the judge of `synthgen evaluate`), for comparison only.",
        "",
        f"| model | fit s | steps | gen images/s | cond. acc ({names}) | TSTR ({names}) | "
        "Fréchet (floor) | precision (floor) | recall (floor) | synthgen's classifier: "
        "cond. / TSTR | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in doc["rows"]:
        own = r.get("synthgen_classifier")
        own_s = (
            "–"
            if not own
            else (f"{num(own['conditional_accuracy'])} / {num(own['tstr_accuracy'])}")
        )
        lines.append(
            f"| {r['model']} | {r['fit_s']:.0f} | {r['steps']} | {r['images_per_s']:,.0f} | "
            f"{per_judge(r['judges'], 'conditional_accuracy')} | "
            f"{per_judge(r['judges'], 'tstr_accuracy')} | "
            + " | ".join(fid_cells(r["fidelity"]))
            + f" | {own_s} | {r['load_avg_1m_at_end']:.1f} |"
        )
    lines += [
        "",
        f"Goal: conditional accuracy ≥ {GOAL_COND:.0%} and TSTR ≥ {GOAL_TSTR:.0%} under every "
        f"judge, fit ≤ {GOAL_FIT_S:.0f} s (the lowest judge shown; short by = goal − figure).",
        "",
        "| model | lowest cond. acc | short by | lowest TSTR | short by | fit ≤ 300 s |",
        "|---|---|---|---|---|---|",
    ]
    for r in doc["rows"]:
        cond = min(j["conditional_accuracy"] for j in r["judges"].values())
        tstr = min(j["tstr_accuracy"] for j in r["judges"].values())
        lines.append(
            f"| {r['model']} | {num(cond)} | {_short(GOAL_COND, cond)} | {num(tstr)} | "
            f"{_short(GOAL_TSTR, tstr)} | {'yes' if r['fit_s'] <= GOAL_FIT_S else 'no'} "
            f"({r['fit_s']:.0f} s) |"
        )
    labels = sorted({k for r in doc["rows"] for j in r["judges"].values() for k in j["per_label"]})
    lines += [
        "",
        "Per-digit conditional accuracy (the lowest of the judges):",
        "",
        "| model | " + " | ".join(str(k) for k in labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for r in doc["rows"]:
        cells = [
            num(min(j["per_label"].get(k, 1.0) for j in r["judges"].values()), 2) for k in labels
        ]
        lines.append(f"| {r['model']} | " + " | ".join(cells) + " |")
    return lines


def _short(goal: float, value: float) -> str:
    return "met" if value >= goal else f"{100 * (goal - value):.1f} pt"


def rgb_lines(rgb: dict) -> list[str]:
    names = " / ".join(rgb["judges"])
    floors = ", ".join(f"{k} {num(v['real_test_accuracy'])}" for k, v in rgb["judges"].items())
    lines = [
        "",
        f"RGB path on real photographs: {rgb['source']}; labels {rgb['labels']}; "
        f"{rgb['train']} train / {rgb['test']} test patches of {rgb['shape']} (read from PNG "
        f"folders through `schema infer` and the folder reader). Judge floors: {floors}.",
        "",
        f"| model | fit s | epochs | cond. acc ({names}) | TSTR ({names}) | Fréchet (floor) | "
        "precision (floor) | recall (floor) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [judged_row(r, "epochs_run") for r in rgb["rows"]]
    return lines


def write_outputs(doc: dict, tag: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{tag}.json").write_text(json.dumps(doc, indent=2, default=str))
    lines = mnist_lines(doc)
    if doc.get("rgb"):
        lines += rgb_lines(doc["rgb"])
    (out / f"{tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
