"""The gates of image evaluation (``fail_under``), read from the metrics summary."""

from __future__ import annotations

from synthgen.core.gates import Gate, GateTable, enforce, parse_gates
from synthgen.errors import param

GATES: GateTable = {
    "conditional_accuracy": (
        "conditional_accuracy",
        "real-trained classifier agrees with the synthetic labels",
    ),
    "tstr": ("tstr_accuracy", "accuracy on the real holdout of a CNN trained on synthetic"),
    "tstr_ratio": ("tstr_ratio", "TSTR accuracy / TRTR accuracy"),
    "precision": ("precision", "share of synthetic images inside the real k-NN manifold"),
    "recall": ("recall", "share of real images inside the synthetic k-NN manifold"),
    "frechet_max": ("frechet_distance", "Fréchet distance in the classifier's feature space"),
    "fid_max": ("fid", "Inception FID (needs inception weights)"),
}


def parse_image_gates(specs: list[str] | None) -> list[Gate]:
    return parse_gates(specs, GATES, example="conditional_accuracy=0.95")


def enforce_image_gates(results: list[dict], document: dict | None = None) -> None:
    needs = {k: "labelled synthetic images" for _, (k, _) in GATES.items()}
    needs["fid"] = param("inception_weights")
    enforce(results, needs, document)
