"""Would another model family close issue 21's pixel-MLP gap in the CPU budget? A probe.

The judged table leaves one bar of issue 21 unmet: the pixel MLP judge trained on `fvae`'s
digits reads the real test split at 0.929, against 0.95 asked (its real floor: 0.953). This
script asks, on MNIST10k's *train* split only (the 90 % / 10 % cut of ``image_validation.py``;
no judge and no test image is used), how far three things get on the same validation signal:

* ``fvae`` at its defaults (seed 0), and the reconstructions of its own training images by
  posterior draws: what its decoder gives with a perfect prior (an upper bound for the kind);
* a conditional flow-matching model on pixels (a small U-Net, rectified-flow loss, EMA weights,
  20 Euler steps; benchmark-only, not a kind), trained for a fixed wall-clock budget per
  ``--budgets`` entry (270 s: what is left of the 5-minute fit budget for a kind this size).

Each set (as many images as the fit part, labels as its labels) trains two pixel MLPs
(scikit-learn, 128-64 ReLU units, seeds 5 and 6: not the judge's recipe) and a logistic
regression on pixels, scored on the held-out tenth; synthgen's own classifier (trained on the
fit part) reads each set for conditional accuracy. Nothing in synthgen is chosen from these
figures.

    python benchmarks/image_family_probe.py [--budgets 270,900] [--width 16]

Writes ``benchmarks/results/<tag>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from image_gap import _decode, _posteriors  # noqa: E402
from image_validation import flat, pixel_model, split  # noqa: E402
from measure import machine, write_results  # noqa: E402

MLP_SEEDS = (5, 6)


class FlowBlock(nn.Module):
    """Residual conv block whose second norm is scaled and shifted by the time+class code."""

    def __init__(self, cin: int, cout: int, emb: int) -> None:
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(8, cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.film = nn.Linear(emb, 2 * cout)
        self.norm2, self.conv2 = nn.GroupNorm(8, cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.film(code)[:, :, None, None].chunk(2, 1)
        h = self.conv2(F.silu(self.norm2(h) * (1 + scale) + shift))
        return h + self.skip(x)


class FlowUNet(nn.Module):
    """Velocity field v(x_t, t, label) for 28x28 grey images: a three-level U-Net."""

    def __init__(self, width: int, n_classes: int, emb: int = 128) -> None:
        super().__init__()
        w = width
        self.time = nn.Sequential(nn.Linear(64, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.label = nn.Embedding(n_classes, emb)
        self.inp = nn.Conv2d(1, w, 3, padding=1)
        self.down = nn.ModuleList([FlowBlock(w, w, emb), FlowBlock(w, 2 * w, emb)])
        self.low, self.mid = FlowBlock(2 * w, 2 * w, emb), FlowBlock(2 * w, 2 * w, emb)
        self.up = nn.ModuleList(
            [FlowBlock(4 * w, 2 * w, emb), FlowBlock(4 * w, w, emb), FlowBlock(2 * w, w, emb)]
        )
        self.out = nn.Sequential(nn.GroupNorm(8, w), nn.SiLU(), nn.Conv2d(w, 1, 3, padding=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        freqs = torch.exp(-math.log(1000) * torch.arange(32) / 32) * t[:, None] * 1000
        code = self.time(torch.cat([freqs.sin(), freqs.cos()], 1)) + self.label(y)
        h1 = self.down[0](self.inp(x), code)  # 28 x 28
        h2 = self.down[1](F.avg_pool2d(h1, 2), code)  # 14 x 14
        h3 = self.low(F.avg_pool2d(h2, 2), code)  # 7 x 7
        h = self.up[0](torch.cat([self.mid(h3, code), h3], 1), code)
        h = self.up[1](torch.cat([F.interpolate(h, scale_factor=2), h2], 1), code)
        h = self.up[2](torch.cat([F.interpolate(h, scale_factor=2), h1], 1), code)
        return self.out(h)


def fit_flow(images, labels, budget_s: float, width: int, seed: int = 0):
    """Rectified flow from N(0, I) to the images ([-1, 1]), trained for ``budget_s`` seconds
    (batch 128, Adam 1e-3, logit-normal times); returns the EMA network and the step count."""
    torch.manual_seed(seed)
    x_all = torch.from_numpy(images.transpose(0, 3, 1, 2).copy()).float() / 127.5 - 1
    y_all = torch.from_numpy(labels).long()
    net = FlowUNet(width, int(y_all.max()) + 1)
    ema = FlowUNet(width, int(y_all.max()) + 1)
    ema.load_state_dict(net.state_dict())
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    start, step = time.perf_counter(), 0
    while time.perf_counter() - start < budget_s:
        idx = torch.randint(0, len(x_all), (128,), generator=gen)
        x1, y = x_all[idx], y_all[idx]
        x0 = torch.randn(x1.shape, generator=gen)
        t = torch.sigmoid(torch.randn(len(idx), generator=gen))
        xt = (1 - t)[:, None, None, None] * x0 + t[:, None, None, None] * x1
        loss = F.mse_loss(net(xt, t, y), x1 - x0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        decay = min(0.999, (1 + step) / (10 + step))
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), net.parameters(), strict=True):
                p_ema.lerp_(p, 1 - decay)
        if step % 200 == 0:
            elapsed = time.perf_counter() - start
            print(f"  flow step {step}, loss {loss.item():.4f}, {elapsed:.0f} s", flush=True)
    return ema.eval(), step


@torch.no_grad()
def sample_flow(net: FlowUNet, labels: np.ndarray, n_steps: int = 20, seed: int = 1):
    """uint8 NHWC images for ``labels``: Euler steps of the flow from Gaussian noise."""
    gen, out = torch.Generator().manual_seed(seed), []
    for s in range(0, len(labels), 500):
        y = torch.from_numpy(labels[s : s + 500]).long()
        x = torch.randn(len(y), 1, 28, 28, generator=gen)
        for i in range(n_steps):
            x = x + net(x, torch.full((len(y),), i / n_steps), y) / n_steps
        out.append(((x.clamp(-1, 1) + 1) * 127.5).round().byte())
    return torch.cat(out).numpy().transpose(0, 2, 3, 1)


def scores(images, labels, held, clf) -> dict:
    """The validation figures of one training set (see the module docstring)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from synthgen.images.data import ImageSet

    train = ImageSet(images, labels)
    mlps = []
    for seed in MLP_SEEDS:
        mlp = MLPClassifier((128, 64), alpha=1e-3, batch_size=128, max_iter=30, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlps.append(float(mlp.fit(flat(train), labels).score(flat(held), held.labels)))
    return {
        "mlp": mlps,
        "mlp_mean": float(np.mean(mlps)),
        "pixels_lr": float(pixel_model(train).score(flat(held), held.labels)),
        "cond_acc": float((clf.predict(train) == labels).mean()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--budgets", default="270,900", help="flow training seconds, comma-separated")
    ap.add_argument("--width", type=int, default=16, help="the flow U-Net's channels at 28x28")
    ap.add_argument("--epochs", type=int, default=None, help="fvae's (default: its plan)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tag", default="image_family_probe")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from synthgen.images.evaluate.classifier import ImageClassifier
    from synthgen.images.synthesizer import ImageSynthesizer

    fit, held, schema = split(args.data)
    clf = ImageClassifier(seed=0, epochs=4).fit(fit, schema)
    rows = []

    def add(name: str, images, labels, fit_s=None, steps=None, sample_s=None) -> None:
        row = {"set": name, "fit_s": fit_s, "steps": steps, "sample_s": sample_s}
        rows.append({**row, **scores(images, labels, held, clf)})
        print(rows[-1], flush=True)

    add("real (the fit part)", fit.images, fit.labels)
    t = time.perf_counter()
    synth = ImageSynthesizer("fvae", epochs=args.epochs, seed=0, progress=False).fit(fit, schema)
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    gen = synth.sample(len(fit), seed=1)
    steps = synth.training_.get("steps")
    add("fvae, defaults", gen.images, gen.labels, fit_s, steps, time.perf_counter() - t)
    mu, var = _posteriors(synth.model_, fit)
    draws = mu + np.random.default_rng(0).standard_normal(mu.shape) * np.sqrt(var)
    add(
        "fvae, reconstructions (posterior draws)",
        _decode(synth.model_, draws, fit.labels),
        fit.labels,
    )
    for budget in (float(b) for b in args.budgets.split(",")):
        net, steps = fit_flow(fit.images, fit.labels, budget, args.width)
        t = time.perf_counter()
        images = sample_flow(net, fit.labels)
        add(
            f"flow matching, {budget:.0f} s",
            images,
            fit.labels,
            budget,
            steps,
            time.perf_counter() - t,
        )
    doc = {
        "width": args.width,
        "machine": machine(),
        "rows": rows,
        "load_avg_1m_at_end": os.getloadavg()[0],
    }
    lines = [
        f"MNIST10k's train split: fit on 90 % ({len(fit):,} images), scored on the other 10 % "
        f"({len(held):,}); no judge and no test image. Machine: {machine()}. Flow U-Net width "
        f"{args.width}. MLP: two pixel MLPs (128-64, seeds {MLP_SEEDS}), not the judge's "
        "recipe; LR: logistic regression on pixels; cond. acc: synthgen's classifier.",
        "",
        "| training set | fit s | steps | sample s | MLP (two seeds) | MLP mean | LR | cond. acc |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cell = lambda v, f: "" if v is None else format(v, f)  # noqa: E731
        lines.append(
            f"| {r['set']} | {cell(r['fit_s'], '.0f')} | {cell(r['steps'], 'd')} | "
            f"{cell(r['sample_s'], '.0f')} | {' / '.join(f'{a:.4f}' for a in r['mlp'])} | "
            f"{r['mlp_mean']:.4f} | {r['pixels_lr']:.3f} | {r['cond_acc']:.3f} |"
        )
    write_results(args.tag, doc, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
