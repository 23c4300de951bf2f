"""Sequence classification: tables to sequences, splits, packing, baselines, the classifier."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from rnnkit.classify.classifier import PackedSequenceModel, SequenceClassifier
from rnnkit.classify.data import PaddedBatches, TableSpec, extract, stratified_split
from rnnkit.classify.evaluation import (
    holdout_metrics,
    holdout_split,
    majority_class,
    nearest_neighbour,
)
from rnnkit.data.scaling import SeriesScaler
from rnnkit.errors import UserError
from rnnkit.metrics import accuracy, confusion_matrix, macro_f1
from rnnkit.models import CELLS, ModelConfig
from rnnkit.training import TrainConfig

CELL_BACKENDS = [(cell, backend) for cell in CELLS for backend in CELLS[cell]]


def easy_wide(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Two classes told apart by their level; lengths 5 to 12, padded with NaN."""
    rng = np.random.default_rng(seed)
    data = np.full((n, 12), np.nan)
    labels = []
    for i in range(n):
        up = i % 2 == 0
        length = int(rng.integers(5, 13))
        data[i, :length] = (1.0 if up else -1.0) + 0.3 * rng.normal(size=length)
        labels.append("up" if up else "down")
    frame = pd.DataFrame(data, columns=[f"t{j}" for j in range(12)])
    frame.insert(0, "label", labels)
    return frame


def wide_to_long(frame: pd.DataFrame) -> pd.DataFrame:
    """The same sequences, a row per step, rows shuffled (the time column restores order)."""
    rows = []
    for i, row in frame.iterrows():
        values = row.drop("label").dropna().to_numpy(dtype=float)
        for t, v in enumerate(values):
            rows.append({"id": f"s{i}", "time": t, "x": v, "x2": -v, "label": row["label"]})
    return pd.DataFrame(rows).sample(frac=1.0, random_state=0).reset_index(drop=True)


def tiny_classifier(cell: str = "gru", backend: str = "auto", epochs: int = 12, **kw):
    train = TrainConfig(epochs=epochs, batch_size=8, lr=2e-2, patience=0, progress=False)
    return SequenceClassifier(cell, backend=backend, hidden_size=8, train=train, device="cpu", **kw)


# --- tables to sequences --------------------------------------------------------------------


def test_wide_rows_lose_their_padding() -> None:
    frame = easy_wide(6)
    data = extract(frame, TableSpec())
    expected = frame.drop(columns="label").notna().sum(axis=1).tolist()
    assert [len(s) for s in data.sequences] == expected
    assert all(s.shape[1] == 1 and not np.isnan(s).any() for s in data.sequences)
    assert data.labels.tolist() == frame["label"].tolist()
    assert data.id_name == "row" and data.ids.tolist() == list(range(1, 7))


def test_long_table_matches_the_wide_one() -> None:
    frame = easy_wide(8)
    wide = extract(frame, TableSpec())
    long = extract(wide_to_long(frame), TableSpec("long", "label", "id", "time", ["x"]))
    by_id = dict(zip(long.ids.tolist(), zip(long.sequences, long.labels, strict=True), strict=True))
    for i, (seq, label) in enumerate(zip(wide.sequences, wide.labels, strict=True)):
        other, other_label = by_id[f"s{i}"]
        np.testing.assert_array_equal(other, seq)
        assert other_label == label


def test_long_features_default_to_the_numeric_columns() -> None:
    spec = TableSpec("long", "label", "id", "time")
    data = extract(wide_to_long(easy_wide(4)), spec)
    assert spec.features == ["x", "x2"] and data.sequences[0].shape[1] == 2


@pytest.mark.parametrize(
    "change,spec,needle",
    [
        (lambda f: f.rename(columns={"label": "lable"}), TableSpec(), "did you mean 'lable'"),
        (lambda f: f.assign(t2=np.nan), TableSpec(), "empty cells only at its end"),
        (lambda f: f.assign(t1="abc"), TableSpec(), "'abc' is not a number"),
        (lambda f: f, TableSpec(format="wides"), "did you mean 'wide'"),
        (lambda f: f.assign(label=None), TableSpec(), "has no 'label'"),
    ],
)
def test_bad_wide_tables(change, spec: TableSpec, needle: str) -> None:
    with pytest.raises(UserError, match=needle):
        extract(change(easy_wide(6)), spec)


def test_bad_long_tables() -> None:
    long = wide_to_long(easy_wide(6))
    with pytest.raises(UserError, match="needs --id-col"):
        extract(long, TableSpec("long"))
    mixed = long.copy()
    mixed.loc[mixed.index[mixed["id"] == "s0"][0], "label"] = "down"  # s0 is "up"
    with pytest.raises(UserError, match="'s0' has more than one label"):
        extract(mixed, TableSpec("long", "label", "id", "time"))
    with pytest.raises(UserError, match="did you mean 'time'"):
        extract(long, TableSpec("long", "label", "id", "tme"))


def test_pooled_scaler_uses_every_step_of_every_sequence() -> None:
    sequences = [np.array([[0.0], [2.0]]), np.array([[4.0]])]
    scaler = SeriesScaler.fit_pooled(sequences)
    assert scaler.loc[0] == pytest.approx([2.0])
    assert scaler.scale[0] == pytest.approx([np.std([0.0, 2.0, 4.0])])
    scaled = scaler.transform_each(sequences)
    assert torch.cat(scaled).mean().item() == pytest.approx(0.0, abs=1e-6)


def test_stratified_split_keeps_class_shares() -> None:
    labels = np.array(["a"] * 60 + ["b"] * 30 + ["c"] * 10)
    kept, held = stratified_split(labels, 0.2, seed=1)
    assert len(held) == 20 and sorted([*kept, *held]) == list(range(100))
    assert [int((labels[held] == c).sum()) for c in "abc"] == [12, 6, 2]
    again = stratified_split(labels, 0.2, seed=1)
    assert np.array_equal(again[1], held)
    assert not np.array_equal(stratified_split(labels, 0.2, seed=2)[1], held)
    assert len(stratified_split(labels, 7, seed=0)[1]) == 7


# --- packing: the padding never reaches the model ------------------------------------------


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell,backend", CELL_BACKENDS)
def test_padding_changes_nothing(cell: str, backend: str, bidirectional: bool) -> None:
    torch.manual_seed(0)
    config = ModelConfig(
        cell=cell,
        backend=backend,
        input_size=2,
        hidden_size=6,
        output_size=3,
        bidirectional=bidirectional,
    )
    model = PackedSequenceModel(config).eval()
    sequences = [torch.randn(n, 2) for n in (5, 2, 7, 1)]
    x, lengths, y = next(PaddedBatches(sequences, torch.tensor([0, 1, 2, 1])).iter_batches(4))
    mask = torch.arange(x.shape[1])[None, :, None] < lengths[:, None, None]  # (4, 7, 1)
    noisy = torch.where(mask, x, torch.full_like(x, 1e3))  # padding values changed
    longer = torch.cat([noisy, torch.full((4, 5, 2), -7.0)], dim=1)  # and more padding
    with torch.no_grad():
        logits = model(x, lengths)
        alone = torch.cat([model(s[None], torch.tensor([len(s)])) for s in sequences])
        for other in (model(noisy, lengths), model(longer, lengths), alone):
            torch.testing.assert_close(other, logits, rtol=1e-5, atol=1e-6)
    loss = F.cross_entropy(logits, y)
    assert torch.isclose(F.cross_entropy(model(longer, lengths), y), loss)


# --- metrics and baselines ------------------------------------------------------------------


def test_classification_metrics_by_hand() -> None:
    y_true, y_pred = [0, 0, 1, 1, 2], [0, 1, 1, 1, 0]
    assert confusion_matrix(y_true, y_pred, 3).tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert accuracy(y_true, y_pred) == pytest.approx(0.6)
    # F1: class 0 = 2*1/(2+1+1) = .5, class 1 = 2*2/(4+1) = .8, class 2 = 0
    assert macro_f1(y_true, y_pred, 3) == pytest.approx((0.5 + 0.8 + 0.0) / 3)


def test_baselines() -> None:
    assert majority_class(np.array([2, 1, 2, 0]), 3).tolist() == [2, 2, 2]
    train = [torch.zeros(4, 1), torch.ones(6, 1), torch.full((3, 1), 5.0)]
    test = [torch.full((6, 1), 0.9), torch.full((3, 1), 4.0), torch.zeros(4, 1)]
    assert nearest_neighbour(train, np.array([7, 8, 9]), test).tolist() == [8, 9, 7]


# --- the classifier -------------------------------------------------------------------------


def test_classifier_learns_and_beats_the_baselines() -> None:
    clf = tiny_classifier(epochs=15)
    train, test = holdout_split(extract(easy_wide(80), TableSpec()), 0.25, seed=0)
    clf.fit_sequences(train, TableSpec())
    metrics = holdout_metrics(clf, train, test, seconds=1.0)
    assert metrics["n_test"] == 20 and len(test.sequences) == 20
    assert metrics["accuracy"] >= 0.9 > metrics["majority_accuracy"]
    assert np.array(metrics["confusion_matrix"]).sum() == 20
    assert metrics["classes"] == ["down", "up"]


def test_scaler_is_fitted_on_training_sequences_only() -> None:
    data = extract(easy_wide(40), TableSpec())
    scalers = []
    for factor in (1.0, 100.0):
        changed = data.subset(np.arange(40))
        kept, held = stratified_split(changed.labels, 0.25, seed=0)
        for i in held:  # change only the test sequences
            changed.sequences[i] = changed.sequences[i] * factor
        clf = tiny_classifier(epochs=1)
        clf.fit_sequences(holdout_split(changed, 0.25, seed=0)[0], TableSpec())
        scalers.append(clf.scaler)
    assert scalers[0] == scalers[1]


def test_predict_save_load_round_trip(tmp_path: Path) -> None:
    frame = easy_wide(30)
    clf = tiny_classifier(epochs=3).fit(frame)
    table = clf.predict(frame.drop(columns="label"))
    assert list(table.columns) == ["row", "label", "p_down", "p_up"]
    unlabelled = clf.predict(frame.assign(label=None))  # an empty label column is skipped
    pd.testing.assert_frame_equal(unlabelled, table)
    np.testing.assert_allclose(table[["p_down", "p_up"]].sum(axis=1), 1.0, rtol=1e-6)
    clf.save(tmp_path / "run")
    again = SequenceClassifier.load(tmp_path / "run", device="cpu")
    np.testing.assert_allclose(again.predict_proba(frame), clf.predict_proba(frame), rtol=1e-6)
    assert again.evaluate(frame) == clf.evaluate(frame)


def test_long_format_fit_and_predict_by_id() -> None:
    long = wide_to_long(easy_wide(24))
    clf = tiny_classifier(epochs=2).fit(long, format="long", id_col="id", time_col="time")
    table = clf.predict(long.drop(columns="label"))
    assert table.columns[0] == "id" and sorted(table["id"]) == sorted(long["id"].unique())


def test_one_class_is_a_user_error() -> None:
    with pytest.raises(UserError, match="only one class"):
        tiny_classifier().fit(easy_wide(10).assign(label="same"))


def test_loading_another_kind_is_a_user_error(tmp_path: Path) -> None:
    from rnnkit.text.charlm import CharLM

    lm = CharLM("gru", hidden_size=4, embed_size=2, seq_len=4, steps=1, device="cpu")
    lm.config.train = TrainConfig(batch_size=2, progress=False)
    lm.fit("abcd" * 20).save(tmp_path / "lm")
    with pytest.raises(UserError, match="not a 'sequence_classifier' model"):
        SequenceClassifier.load(tmp_path / "lm")
