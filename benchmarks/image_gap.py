"""Where the default image kind's TSTR gap comes from, on a validation signal that is no judge.

Issue 21's pixel judge trains on generated digits to within 2.4 points of real ones; the bar
asks for 0.3. This script splits that gap into its parts on MNIST10k's *train* split only (the
fit/held-out cut of ``image_validation.py``; no benchmark judge, no test image): one model is
fitted on the fit part, then a logistic regression on pixels (``image_validation.pixel_model``)
is trained on each of these sets of the same size and scored on the held-out part:

* ``real``: the fit part itself (the ceiling);
* ``reconstructions``: the decoder's image of each fit image's posterior mean, then of a
  posterior draw (what the decoder alone loses, with every latent where a real image put it);
* ``aggregate posterior``: latents drawn from the fit images' posteriors (the best any prior
  fitted to them could do, short of the images themselves);
* ``mixture prior k=...``: latents from Gaussian mixtures of k components per class fitted to the
  posterior means (full or diagonal covariances), the sampling prior's family;
* ``generated``: the kind's own samples at its defaults (prior + label check), then with 4x as
  many samples, then without the label check (``accept`` 0).

    python benchmarks/image_gap.py [--kind fvae] [--model saved.synth]

Writes ``benchmarks/results/<tag>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
OUT = ROOT / "benchmarks" / "results"

from image_validation import flat, pixel_model, split  # noqa: E402


def _decode(model, z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    import torch

    from synthgen.images.data import ImageSet

    out = []
    with torch.no_grad():
        for s in range(0, len(z), 500):
            zs = torch.as_tensor(z[s : s + 500]).float()
            decoded = model.decoder(zs, torch.as_tensor(labels[s : s + 500]))
            out.append(ImageSet.from_tensor(decoded).images)
    return np.concatenate(out)


def _posteriors(model, images) -> tuple[np.ndarray, np.ndarray]:
    import torch

    x = torch.from_numpy(images.images.transpose(0, 3, 1, 2).copy())
    mu, var = model.posterior_moments(x, torch.from_numpy(images.labels))
    return mu.numpy(), var.numpy()


def _mixture_latents(mu, var, labels, draw, k: int, cov: str, rng) -> np.ndarray:
    """Latents for ``draw`` (labels) from k-component mixtures per class fitted to ``mu``, each
    component widened by the class's mean posterior variance (as the kind's prior is)."""
    from sklearn.mixture import GaussianMixture

    z = np.zeros((len(draw), mu.shape[1]))
    for c in np.unique(draw):
        m, v = mu[labels == c], var[labels == c].mean(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gmm = GaussianMixture(k, covariance_type=cov, reg_covar=1e-4, random_state=0).fit(m)
        gmm.covariances_ = gmm.covariances_ + (np.diag(v)[None] if cov == "full" else v[None])
        zc, _ = gmm.sample(int((draw == c).sum()))
        z[draw == c] = rng.permutation(zc)
    return z


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--kind", default="fvae")
    ap.add_argument("--model", type=Path, default=None, help="a model fitted on the fit part")
    ap.add_argument("--tag", default="image_gap")
    args = ap.parse_args()
    from synthgen.images.data import ImageSet
    from synthgen.images.synthesizer import ImageSynthesizer

    fit, held, schema = split(args.data)
    fit_s = None  # a saved model (--model) was fitted before this run
    if args.model and args.model.exists():
        synth = ImageSynthesizer.load(args.model, device="cpu")
    else:
        t = time.perf_counter()
        synth = ImageSynthesizer(args.kind, seed=0, progress=False, device="cpu").fit(fit, schema)
        fit_s = time.perf_counter() - t
        if args.model:
            synth.save(args.model, overwrite=True)
    model, rng = synth.model_, np.random.default_rng(0)
    rows: list[dict] = []

    def score(name: str, images: np.ndarray, labels: np.ndarray) -> None:
        acc = pixel_model(ImageSet(images, labels)).score(flat(held), held.labels)
        rows.append({"set": name, "n": len(images), "tstr_pixels": float(acc)})
        print(json.dumps(rows[-1]), flush=True)

    n = len(fit)
    score("real (the fit part)", fit.images, fit.labels)
    mu, var = _posteriors(model, fit)
    score("reconstructions: posterior means", _decode(model, mu, fit.labels), fit.labels)
    draw = mu + rng.standard_normal(mu.shape) * np.sqrt(var)
    score("reconstructions: posterior draws", _decode(model, draw, fit.labels), fit.labels)
    pick = rng.integers(0, n, n)
    draw = mu[pick] + rng.standard_normal(mu.shape) * np.sqrt(var[pick])
    score("aggregate posterior", _decode(model, draw, fit.labels[pick]), fit.labels[pick])
    labels = rng.choice(fit.labels, n)
    for k, cov in [(1, "full"), (10, "full"), (30, "full"), (100, "diag")]:
        z = _mixture_latents(mu, var, fit.labels, labels, k, cov, rng)
        score(f"mixture prior k={k} {cov}", _decode(model, z, labels), labels)
    gen = synth.sample(n, seed=1)
    score("generated (defaults)", gen.images, gen.labels)
    gen = synth.sample(4 * n, seed=1)
    score("generated (defaults), 4x as many", gen.images, gen.labels)
    if hasattr(model.config, "accept"):
        model.config.accept = 0.0
        gen = synth.sample(n, seed=1)
        score("generated without the label check", gen.images, gen.labels)
    doc = {
        "kind": args.kind,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "fit_s": fit_s,
        "steps": synth.training_.get("steps"),
        "held_out": len(held),
        "rows": rows,
        "load_avg_1m_at_end": os.getloadavg()[0],
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{args.tag}.json").write_text(json.dumps(doc, indent=2))
    lines = [
        f"`{args.kind}` fitted on 90 % of MNIST10k's train split ({doc['steps']} steps); a "
        f"logistic regression on pixels trained on each set below and scored on the other 10 % "
        f"({len(held)} images; one standard error ~0.01). No judge and no test image is used.",
        "",
        "| training set | images | TSTR (pixels) | gap to real |",
        "|---|---|---|---|",
    ]
    real = rows[0]["tstr_pixels"]
    for r in rows:
        gap = real - r["tstr_pixels"]
        lines.append(f"| {r['set']} | {r['n']:,} | {r['tstr_pixels']:.3f} | {gap:+.3f} |")
    (OUT / f"{args.tag}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
