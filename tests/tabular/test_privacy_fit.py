"""Differentially private fits (DP-SGD in the one loop, noisy statistics) and the value
protection every table fit has: budgets recorded and recomputable, no exact statistic or rare
category in a private model file, refusals, fresh identifiers, no rare or outlier values."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("opacus")

from synthgen.cli.main import app  # noqa: E402
from synthgen.core.modelfile import load_model  # noqa: E402
from synthgen.core.privacy import DEFAULT_CLIP, spent_epsilon  # noqa: E402
from synthgen.errors import UsageError  # noqa: E402
from synthgen.schema import ColumnSpec, TableSchema  # noqa: E402
from synthgen.tabular.infer import infer_schema  # noqa: E402
from synthgen.tabular.synthesizer import TabularSynthesizer  # noqa: E402

N = 300
ONCE = "Zanzibar-once"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {
            "age": pd.array(rng.integers(18, 80, N), dtype="Int64"),
            "salary": rng.normal(50_000, 8_000, N).round(2),
            "city": rng.choice(["north", "south", "east"], N, p=[0.5, 0.3, 0.2]),
            "plan": rng.choice(["basic", "gold"], N),
        }
    )
    df["city"] = df["city"].astype(object)
    df.loc[7, "city"] = ONCE
    df.loc[8, "salary"] = 9_876_543.21  # one CEO
    return df


@pytest.fixture(scope="module")
def schema() -> TableSchema:
    # no ranges and no category list for city: a private fit must learn them privately
    return TableSchema(
        name="people",
        kind="table",
        columns=[
            ColumnSpec(name="age", type="integer"),
            ColumnSpec(name="salary", type="continuous"),
            ColumnSpec(name="city", type="categorical"),
            ColumnSpec(name="plan", type="categorical", values=["basic", "gold"]),
        ],
    )


@pytest.fixture(scope="module", params=["vae", "cgan", "ar"])
def private_fit(request, table, schema, tmp_path_factory):
    synth = TabularSynthesizer(request.param, dp_epsilon=2.0, epochs=2, seed=0, progress=False)
    synth.fit(table, schema)
    path = synth.save(tmp_path_factory.mktemp("dp") / f"{request.param}.synth")
    return synth, path


def test_private_fit_spends_no_more_than_asked(private_fit):
    synth, _ = private_fit
    dp = synth.privacy_["differential_privacy"]
    assert dp["epsilon"] == 2.0 and dp["delta"] == pytest.approx(1 / N**2)
    assert 0 < dp["epsilon_spent"] <= 2.0
    split = dp["split"]
    assert split["statistics"]["epsilon"] + split["sgd"]["epsilon"] == pytest.approx(2.0)
    assert dp["steps_done"] == dp["steps"] > 0
    out = synth.sample(200, seed=1)
    assert len(out) == 200 and list(out.columns) == ["age", "salary", "city", "plan"]


def test_manifest_accounting_matches_the_accountant(private_fit):
    _, path = private_fit
    dp = load_model(path).manifest["extra"]["privacy"]["differential_privacy"]
    again = spent_epsilon(
        dp["noise_multiplier"], dp["sample_rate"], dp["steps_done"], dp["sgd_delta"], "rdp"
    )
    assert again == pytest.approx(dp["sgd_epsilon_spent"], rel=1e-9)
    assert again <= dp["split"]["sgd"]["epsilon"]
    # the same from Opacus' accountant, step by step
    from opacus.accountants import RDPAccountant

    acc = RDPAccountant()
    for _ in range(dp["steps_done"]):
        acc.step(noise_multiplier=dp["noise_multiplier"], sample_rate=dp["sample_rate"])
    assert acc.get_epsilon(dp["sgd_delta"]) == pytest.approx(again, rel=1e-6)
    for key in ("accountant", "max_grad_norm", "sample_rate", "noise_multiplier"):
        assert dp[key] is not None


def test_clipping_bound_is_the_kinds(private_fit):
    """Each row's gradient is clipped at the kind's bound (``extra["dp_clip"]``, else the
    default), and the manifest records the bound the fit used."""
    synth, path = private_fit
    want = synth.kind_entry().extra.get("dp_clip", DEFAULT_CLIP)
    dp = load_model(path).manifest["extra"]["privacy"]["differential_privacy"]
    assert dp["max_grad_norm"] == want == synth.training_["privacy"]["max_grad_norm"]
    assert want == (5.0 if synth.model == "ar" else 1.0)


def test_model_info_shows_the_accounting(private_fit):
    synth, path = private_fit
    res = CliRunner().invoke(app, ["model", "info", str(path)])
    assert res.exit_code == 0, res.output
    dp = synth.privacy_["differential_privacy"]
    text = " ".join(res.output.split())
    assert "differential privacy: epsilon 2" in text and "accountant rdp" in text
    assert f"steps {dp['steps_done']} of {dp['steps']}" in text and dp["dp_trained"] in text


def test_private_model_file_holds_no_exact_statistic(private_fit, table):
    _, path = private_fit
    with zipfile.ZipFile(path) as zf:
        text = zf.read("manifest.json").decode()
    assert ONCE not in text
    loaded = load_model(path)
    arrays = np.concatenate(
        [a.ravel().astype(float) for a in loaded.arrays("transformer").values() if a.size]
    )
    numbers = [float(v) for v in _numbers(loaded.manifest["transformer"])]
    for col in ("age", "salary"):
        for exact in (float(table[col].min()), float(table[col].max())):
            assert exact not in arrays and exact not in numbers, (col, exact)
    assert loaded.manifest["config"]["model_config"].get("prior_components", 0) == 0


def _numbers(doc):
    if isinstance(doc, dict):
        for v in doc.values():
            yield from _numbers(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _numbers(v)
    elif isinstance(doc, int | float) and not isinstance(doc, bool):
        yield doc


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"dp_epsilon": 0}, "positive"),
        ({"dp_epsilon": -1.0}, "positive"),
        ({"dp_epsilon": float("inf")}, "positive"),
        ({"dp_epsilon": 1.0, "dp_delta": 0.01}, "not small"),
        ({"dp_delta": 1e-6}, "applies only with"),
        ({"dp_epsilon": 1.0, "numeric_encoding": "mode"}, "void the guarantee"),
        ({"dp_epsilon": 1.0, "model": "ar", "numeric_encoding": "mode"}, "void the guarantee"),
        ({"rare_values": "drop"}, "rare_values"),
    ],
)
def test_bad_privacy_settings_are_refused(kwargs, match, table, schema):
    kwargs = {"model": "vae", "epochs": 1, "progress": False, **kwargs}
    with pytest.raises(UsageError, match=match):
        TabularSynthesizer(**kwargs).fit(table, schema)


def test_resume_that_would_overspend_is_refused(table, schema, tmp_path):
    ckpt = tmp_path / "m.ckpt"
    TabularSynthesizer("vae", dp_epsilon=1.0, epochs=1, progress=False).fit(
        table, schema, checkpoint=ckpt
    )
    more = TabularSynthesizer("vae", dp_epsilon=1.0, epochs=3, progress=False)
    with pytest.raises(UsageError, match="more than the budget"):
        more.fit(table, schema, checkpoint=ckpt, resume=True)


def test_cli_refusals_are_one_paragraph(table, schema, tmp_path):
    data = tmp_path / "t.csv"
    table.to_csv(data, index=False)
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "schema_version: 1\nname: p\nkind: table\ncolumns:\n"
        "  - {name: age, type: integer}\n  - {name: salary, type: continuous}\n"
        "  - {name: city, type: categorical}\n  - {name: plan, type: categorical}\n"
    )
    runner = CliRunner()
    for extra, words in (
        (["--dp-epsilon", "0"], "--dp-epsilon must be a positive"),
        (["--dp-epsilon", "1", "--dp-delta", "0.5"], "--dp-delta 0.5 is not small"),
    ):
        res = runner.invoke(app, ["fit", str(data), "--schema", str(spec), *extra])
        assert res.exit_code == 2, res.output
        assert words in res.output and "Traceback" not in res.output


# ---------------------------------------------------------------- value protection (no DP)
@pytest.fixture(scope="module")
def named(table):
    rng = np.random.default_rng(5)
    first = ["Ann", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal", "Ida", "Jo"]
    names = [f"{rng.choice(first)} {rng.integers(10**6)}" for _ in range(N)]
    names[1] = names[0]  # near-unique, not unique: not an id
    df = table.copy()
    df["name"] = names
    df.loc[20, "city"] = "Twice"
    df.loc[21, "city"] = "Twice"
    return df


def test_near_unique_text_is_generated_fresh_and_rare_values_never(named, tmp_path):
    data = tmp_path / "named.csv"
    named.to_csv(data, index=False)
    schema = infer_schema(data)
    spec = next(c for c in schema.columns if c.name == "name")
    assert spec.pii
    synth = TabularSynthesizer("vae", epochs=3, seed=0, progress=False).fit(named, schema)
    out = synth.sample(2000, seed=2)
    assert not set(out["name"].dropna()) & set(named["name"])
    assert not {ONCE, "Twice"} & set(out["city"].dropna())
    assert out["salary"].max() < 9_876_543.21
    assert out["salary"].max() <= np.sort(named["salary"])[-2]


def test_rare_values_option_samples_common_categories(named, schema):
    synth = TabularSynthesizer("vae", epochs=2, rare_values="sample", progress=False)
    synth.fit(named[["age", "salary", "city", "plan"]], schema)
    seen = set(synth.sample(1000, seed=0)["city"].dropna())
    assert seen <= {"north", "south", "east"}
    record = synth.privacy_["value_protection"]
    assert record["rare_values"] == "sample" and synth.privacy_["differential_privacy"] is None


def test_schema_infer_says_which_columns_are_fresh(named, tmp_path):
    data = tmp_path / "named.csv"
    named.to_csv(data, index=False)
    res = CliRunner().invoke(app, ["schema", "infer", str(data), "-o", str(tmp_path / "s.yaml")])
    assert res.exit_code == 0, res.output
    assert "generated fresh" in res.output and "name" in res.output


def test_image_kinds_refuse_a_budget(tmp_path):
    from synthgen.jobs.fit import fit_to_file

    data = tmp_path / "d.npz"
    np.savez(data, images=np.zeros((20, 8, 8), np.uint8), labels=np.zeros(20, np.int64))
    spec = tmp_path / "m.yaml"
    spec.write_text(
        "schema_version: 1\nname: m\nkind: image\nimage: {height: 8, width: 8, channels: 1}\n"
        "source: {format: npz, images_key: images, labels_key: labels}\n"
    )
    with pytest.raises(UsageError, match="applies to tables"):
        fit_to_file(data, spec, tmp_path / "m.synth", privacy={"dp_epsilon": 1.0})
    assert not (tmp_path / "m.synth").exists()
