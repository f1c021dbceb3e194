"""The experiment tooling: early stopping restores the best epoch, runs and their statistics,
weight decay, the float twin."""
import statistics
from dataclasses import replace

import numpy as np
import pytest
import torch

from hwgen.train.datasets import load_dataset
from hwgen.train.fit import _accuracy, _hold_out, accuracy_statistics, kept_run, train_model, train_runs
from hwgen.train.models import FloatTwin, first_layer_weights
from hwgen.train.zoo import get_spec


@pytest.fixture(scope="module")
def vertebral():
    spec = replace(get_spec("digits-bnn"), name="vertebral-test", dataset="vertebral", input_bits=8,
                   hidden=(16,), classes=3, batch_size=16, learning_rate=0.05)
    return spec, load_dataset(spec, None)


def test_the_vertebral_split(vertebral):
    _, data = vertebral
    assert (len(data.train.labels), len(data.test.labels), data.features, data.classes) == (248, 62, 6, 3)
    assert data.train.images.max() == 255 and data.train.images.min() == 0   # the training range fills 8 bits


def test_early_stopping_stops_and_restores_the_best_epoch(vertebral):
    spec, data = vertebral
    spec = replace(spec, early_stop_patience=2, validation=0.25)
    result = train_model(spec, data, epochs=60, seed=0, progress=False)
    history = result.history
    assert history.stopped_early and len(history.loss) < 60
    assert len(history.loss) == history.best_epoch + spec.early_stop_patience
    best = history.validation_accuracy[history.best_epoch - 1]
    assert best == max(history.validation_accuracy[:history.best_epoch])
    assert all(later <= best for later in history.validation_accuracy[history.best_epoch:])
    _, validation = _hold_out(data.train, spec.validation)
    assert _accuracy(result.model, validation) == best            # the best epoch's weights, restored
    assert _accuracy(result.model, data.test) == result.test_accuracy


def test_runs_and_their_statistics(vertebral):
    spec, data = vertebral
    spec = replace(spec, runs=3, validation=0.25)
    results = train_runs(spec, data, epochs=3, seed=7, progress=False)
    assert [r.seed for r in results] == [7, 8, 9]
    stats = accuracy_statistics(results)
    values = [r.test_accuracy for r in results]
    assert stats["each"] == values and stats["max"] == max(values)
    assert stats["mean"] == statistics.fmean(values)
    assert stats["std"] == statistics.stdev(values)
    chosen = kept_run(results)
    assert chosen.history.validation_accuracy[chosen.history.best_epoch - 1] == max(
        r.history.validation_accuracy[r.history.best_epoch - 1] for r in results)


def test_weight_decay_shrinks_the_latent_weights(vertebral):
    spec, data = vertebral
    plain = train_model(spec, data, epochs=5, seed=0, progress=False).model
    decayed = train_model(replace(spec, weight_decay=0.5), data, epochs=5, seed=0, progress=False).model
    assert decayed[0].weight.abs().mean() < plain[0].weight.abs().mean()


def test_the_float_twin_has_the_same_plan_in_full_precision(vertebral):
    spec, data = vertebral
    result = train_model(spec, data, epochs=5, seed=0, progress=False, float_twin=True)
    assert isinstance(result.model, FloatTwin)
    weights = first_layer_weights(result.model, data.image)
    assert weights.shape == (16, 1, 6) and not np.isin(weights, (-1.0, 1.0)).all()
    linear = [m for m in result.model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(6, 16), (16, 3)]


def test_first_layer_weights_are_the_hardwares(vertebral):
    spec, data = vertebral
    model = train_model(spec, data, epochs=1, seed=0, progress=False).model
    weights = first_layer_weights(model, data.image)
    assert weights.shape == (16, 1, 6) and np.isin(weights, (-1.0, 1.0)).all()
