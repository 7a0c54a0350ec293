"""The fast generation path: drawn spans decode like their one-hot matrix, slots follow the
softmax, and the vectorised chunk check agrees with ``validate_frame``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import synthgen
from synthgen.tabular.checks import OutputValidator, typed_chunk_ok
from synthgen.tabular.io import read_table
from synthgen.tabular.models.layout import sample_codes, sample_slots
from synthgen.tabular.synthesizer import TabularSynthesizer

DEMO = Path(synthgen.__file__).parent / "data"


@pytest.fixture(scope="module")
def census_schema():
    from synthgen.schema import load_table_schema

    return load_table_schema(DEMO / "census.yaml")


@pytest.fixture(scope="module", params=["vae", "cgan"])
def fitted(request, census_schema):
    data = read_table(DEMO / "census.csv", census_schema).iloc[:400].reset_index(drop=True)
    synth = TabularSynthesizer(request.param, epochs=1, batch_size=100, seed=0, progress=False)
    return synth.fit(data, census_schema)


def test_draw_decodes_like_its_one_hot_matrix(fitted):
    gen = torch.Generator().manual_seed(3)
    draw = fitted.model_.sample_draw(500, {}, gen)
    codes = draw.codes.numpy()
    assert codes.shape == (500, len(fitted.model_.layout.softmax_blocks))
    widths = np.array([b.width for b in fitted.model_.layout.softmax_blocks])
    assert (codes >= 0).all() and (codes < widths).all()
    matrix = fitted.model_.layout.to_matrix(draw).numpy()
    tt = fitted.transformer_
    by_parts = tt.inverse_transform_parts(draw.values.numpy(), codes, np.random.default_rng(1))
    by_matrix = tt.inverse_transform(matrix, np.random.default_rng(1))
    pd.testing.assert_frame_equal(by_parts, by_matrix)


def test_model_condition_fixes_the_drawn_slot(fitted):
    slot = fitted.transformer_.category_index("income", ">50K")
    draw = fitted.model_.sample_draw(300, {"income": slot}, torch.Generator().manual_seed(0))
    blocks = fitted.model_.layout.softmax_blocks
    start = next(d.start for d in fitted.model_.layout.discrete if d.column == "income")
    j = [b.start for b in blocks].index(start)
    assert (draw.codes[:, j] == slot).all()


def test_slots_follow_the_softmax():
    logits = torch.tensor([2.0, -1.0, 0.5, 0.0, -30.0, 1.5])
    n = 200_000
    u = torch.rand(n, generator=torch.Generator().manual_seed(0))
    slots = sample_slots(logits.unsqueeze(1).expand(-1, n), u)
    freq = torch.bincount(slots.long(), minlength=len(logits)).double() / n
    assert torch.allclose(freq, torch.softmax(logits.double(), 0), atol=0.005)
    assert freq[4] == 0  # a slot of probability ~1e-14 is (practically) never drawn


def test_codes_are_deterministic_and_in_range():
    from synthgen.tabular.models.layout import Block

    blocks = (Block("a", 0, 3, "softmax"), Block("b", 3, 1, "softmax"), Block("c", 4, 5, "softmax"))
    raw = torch.randn(9, 1000, generator=torch.Generator().manual_seed(1)) * 5
    a = sample_codes(raw, blocks, torch.Generator().manual_seed(2))
    b = sample_codes(raw, blocks, torch.Generator().manual_seed(2))
    assert torch.equal(a, b)
    assert (a[1] == 0).all() and int(a[0].max()) <= 2 and int(a[2].max()) <= 4


def test_chunk_check_agrees_with_validate_frame(census_schema):
    from synthgen.tabular.io import validate_frame

    good = read_table(DEMO / "census.csv", census_schema).iloc[:200].reset_index(drop=True)
    assert typed_chunk_ok(good, census_schema)
    validate_frame(good, census_schema, source="x")

    unknown = good.copy()
    unknown.loc[3, "sex"] = "Unknown"
    out_of_range = good.copy()
    out_of_range.loc[5, "age"] = 500
    untyped = good.astype(object)
    for bad in (unknown, out_of_range):
        assert not typed_chunk_ok(bad, census_schema)
        validator = OutputValidator(census_schema, len(bad))
        validator.check(bad)
        assert len(validator.problems) == 1
        assert "generated rows" in validator.problems[0]
    assert not typed_chunk_ok(untyped, census_schema)  # falls back to the full check
    validator = OutputValidator(census_schema, len(untyped))
    validator.check(untyped)
    assert validator.problems == []


def test_columns_valid_by_construction_skip_only_what_the_model_cannot_break(fitted):
    import copy

    import pyarrow as pa

    schema = fitted.schema_
    categorical = {c.name for c in schema.columns if c.type == "categorical"}
    trusted = fitted.columns_valid_by_construction()
    assert trusted and trusted <= categorical
    rows = fitted.sample(300, seed=4)
    assert typed_chunk_ok(rows, schema, trusted)
    # a value the transformer could decode outside the declared set: that column is checked
    name = next(c.name for c in schema.columns if c.name in trusted and c.categories)
    other = copy.deepcopy(fitted)
    enc = other.transformer_.encoders_[name]
    enc._values = pa.array([*enc.output_labels, "Unknown"], type=pa.large_string())
    assert name not in other.columns_valid_by_construction()
    # ... and a missing value in a trusted column that is not nullable still fails the check
    spec = schema.column(name)
    if not spec.nullable:
        broken = rows.copy()
        broken.loc[7, name] = None
        assert not typed_chunk_ok(broken, schema, trusted)


class _Failed:
    success = False

    def to_dict(self):
        return {"success": False}


@pytest.mark.parametrize("existing", [None, "file", "symlink", "dangling-symlink"])
def test_validation_report_is_atomic_and_never_follows_a_link(tmp_path, monkeypatch, existing):
    """OUT.validation.json, written when generated rows fail validation: through a temp file,
    never through a symlink, never over an existing file without overwrite."""
    from synthgen.errors import GenerationError
    from synthgen.schema import parse_schema
    from synthgen.tabular.evaluate import validity

    monkeypatch.setattr(validity, "validate_synthetic", lambda sample, schema: _Failed())
    schema = parse_schema({"name": "t", "columns": [{"name": "a", "type": "integer", "max": 5}]})
    out = tmp_path / "out.csv"
    report = tmp_path / "out.csv.validation.json"
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    if existing == "file":
        report.write_text("keep")
    elif existing == "symlink":
        report.symlink_to(victim)
    elif existing == "dangling-symlink":
        report.symlink_to(tmp_path / "nowhere.json")
    for overwrite in (False, True):
        validator = OutputValidator(schema, 3)
        validator.check(pd.DataFrame({"a": pd.array([1, 2, 99], dtype="Int64")}))
        with pytest.raises(GenerationError, match="failed validation") as info:
            validator.finish(out, overwrite=overwrite)
        assert victim.read_text() == "keep" and not (tmp_path / "nowhere.json").exists()
        assert not list(tmp_path.glob(".*.tmp"))  # no temp file left
        if existing is None or overwrite:
            assert "The validation result is in" in str(info.value)
            assert not report.is_symlink() and '"success": false' in report.read_text()
            assert "'a'" in report.read_text()  # the problem found in the rows
        else:
            assert "was not written" in str(info.value)
            assert "already exists" in str(info.value)
            assert report.is_symlink() or report.read_text() == "keep"
