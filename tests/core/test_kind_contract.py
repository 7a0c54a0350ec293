"""The contract every registered model kind keeps, parametrised from the one registry itself
(as RDT tests every transformer): a kind added later is covered without touching this file.

For every kind: a tiny fit; save -> load gives identical outputs; the same seed gives
byte-identical model files; a bad option, and for generators a bad condition, is refused with a
clear error naming it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from synthgen.core.kinds import Kind, estimator_for
from synthgen.errors import UsageError
from synthgen.images.data import ImageSet
from synthgen.jobs.kinds import all_kinds
from synthgen.schema import parse_schema

KINDS = all_kinds()


def _table():
    rng = np.random.default_rng(0)
    n = 240
    frame = pd.DataFrame(
        {
            "age": pd.array(rng.integers(18, 70, n), dtype="Int64"),
            "hours": rng.normal(40, 8, n),
            "job": pd.Series(rng.choice(["a", "b", "c"], n), dtype="str"),
            "member": pd.array(rng.random(n) < 0.4, dtype="boolean"),
            "label": pd.Series(rng.choice(["no", "yes"], n, p=[0.7, 0.3]), dtype="str"),
        }
    )
    schema = parse_schema(
        {
            "name": "contract",
            "target": "label",
            "columns": [
                {"name": "age", "type": "integer", "min": 18, "max": 69},
                {"name": "hours", "type": "continuous"},
                {"name": "job", "type": "categorical", "values": ["a", "b", "c"]},
                {"name": "member", "type": "boolean"},
                {"name": "label", "type": "categorical", "values": ["no", "yes"]},
            ],
        }
    )
    return frame, schema


def _images():
    d = load_digits()
    keep = np.flatnonzero(d.target < 3)[:150]
    data = ImageSet((d.images[keep] * 15).astype(np.uint8)[..., None], d.target[keep])
    schema = parse_schema(
        {
            "name": "contract-digits",
            "kind": "image",
            "image": {"height": 8, "width": 8, "channels": 1},
            "source": {"format": "npz"},
            "label": {"name": "digit", "values": [0, 1, 2]},
        }
    )
    return data, schema


DATA = {"table": _table(), "image": _images()}
CONDITION = {"table": {"label": "yes"}, "image": {"digit": 2}}


def _estimator(kind: Kind, **params):
    cls = estimator_for(kind)
    options = {"random_state": 0, "device": "cpu", "progress": False, "epochs": 2, **params}
    return cls(kind.name, **options)


def _outputs(est, kind: Kind):
    data, _ = DATA[kind.data]
    if kind.role == "generator":
        out = est.sample(40, CONDITION[kind.data], seed=7)
        return out.images if kind.data == "image" else out
    if kind.role == "detector":
        return est.score_samples(data)
    return est.predict_proba(data)


def _same(a, b) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    else:
        np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module", params=KINDS, ids=lambda k: f"{k.file_kind}-{k.role}")
def fitted(request):
    kind: Kind = request.param
    data, schema = DATA[kind.data]
    return kind, _estimator(kind).fit(data, schema)


def test_registry_names_are_unique_and_file_kinds_consistent():
    seen = {(k.data, k.role, k.name) for k in KINDS}
    assert len(seen) == len(KINDS)
    assert {k.data for k in KINDS} == {"table", "image"}
    assert {k.role for k in KINDS} == {"generator", "detector", "judge"}
    for k in KINDS:
        assert k.file_kind == f"{k.data}-{k.name}"


def test_tiny_fit_gives_outputs_of_the_right_shape(fitted):
    kind, est = fitted
    out = _outputs(est, kind)
    data, _ = DATA[kind.data]
    if kind.role == "generator":
        assert len(out) == 40
    else:
        assert len(out) == len(data) and np.isfinite(np.asarray(out, dtype=float)).all()


def test_save_then_load_gives_identical_outputs(fitted, tmp_path):
    kind, est = fitted
    path = est.save(tmp_path / "model.synth")
    again = type(est).load(path, device="cpu")
    assert again.kind_.file_kind == kind.file_kind
    _same(_outputs(est, kind), _outputs(again, kind))


def test_same_seed_same_bytes(fitted, tmp_path):
    kind, est = fitted
    data, schema = DATA[kind.data]
    twin = _estimator(kind).fit(data, schema)
    a = est.save(tmp_path / "a.synth").read_bytes()
    b = twin.save(tmp_path / "b.synth").read_bytes()
    assert a == b


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: f"{k.file_kind}-{k.role}")
def test_bad_option_refused_before_fitting(kind):
    data, schema = DATA[kind.data]
    est = _estimator(kind, model_options={"no_such_option": 1})
    with pytest.raises(UsageError, match="no_such_option"):
        est.fit(data, schema)


def test_bad_condition_refused(fitted):
    kind, est = fitted
    if kind.role != "generator":
        pytest.skip("only generators take conditions")
    with pytest.raises(UsageError, match="nope"):
        est.sample(5, {"nope": "x"})


def test_get_params_and_clone(fitted):
    from sklearn.base import clone

    kind, est = fitted
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert not copy.is_fitted()
