"""The sign's gradient estimators against their formulas; stochastic binarization's odds;
and each through a model file, export and RTL with torch = golden = RTL."""
import json

import pytest
import torch

from hwgen.cli import main
from hwgen.train.layers import SignActivation
from hwgen.train.sign_estimators import RESTE_INTERVAL
from hwgen.train.zoo import SignSpec

X = torch.linspace(-2.5, 2.5, 1001, dtype=torch.float64)


def _gradient(spec: SignSpec, x: torch.Tensor = X) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    SignActivation(spec).train()(x).sum().backward()
    return x.grad


def _slope(function, x: torch.Tensor) -> torch.Tensor:
    """d function / dx by autograd: the formula each estimator must follow."""
    x = x.clone().requires_grad_(True)
    function(x).sum().backward()
    return x.grad


def test_ste_passes_the_gradient_where_abs_x_is_at_most_t():
    assert torch.equal(_gradient(SignSpec(cancel_at=0.7)), (X.abs() <= 0.7).double())


@pytest.mark.parametrize("o, t", [(3.0, 1.5), (2.0, 1.0), (1.0, 2.0)])
def test_reste_is_the_power_functions_slope_with_a_secant_near_zero(o, t):
    gradient = _gradient(SignSpec(estimator="reste", reste_o=o, reste_t=t))
    middle = (X.abs() > RESTE_INTERVAL) & (X.abs() <= t)
    power = _slope(lambda x: torch.sign(x) * x.abs() ** (1 / o), X)
    torch.testing.assert_close(gradient[middle], power[middle])
    near = X.abs() <= RESTE_INTERVAL
    secant = (RESTE_INTERVAL ** (1 / o) - 0) / RESTE_INTERVAL
    torch.testing.assert_close(gradient[near], torch.full_like(gradient[near], secant))
    assert torch.equal(gradient[X.abs() > t], torch.zeros_like(gradient[X.abs() > t]))


def test_approx_sign_is_bi_real_nets_polynomial_slope():
    polynomial = lambda x: torch.where(x.abs() < 1, 2 * x - x * x.abs(), torch.sign(x))  # noqa: E731
    torch.testing.assert_close(_gradient(SignSpec(estimator="approx-sign")), _slope(polynomial, X))


@pytest.mark.parametrize("beta", [1.0, 5.0, 10.0])
def test_swish_sign_is_the_slope_of_signswish(beta):
    def signswish(x):
        s = torch.sigmoid(beta * x)
        return 2 * s * (1 + beta * x * (1 - s)) - 1
    torch.testing.assert_close(_gradient(SignSpec(estimator="swish-sign", swish_beta=beta)), _slope(signswish, X))


@pytest.mark.parametrize("spec", [SignSpec(), SignSpec(estimator="reste"), SignSpec(estimator="swish-sign"),
                                  SignSpec(stochastic=True)])
def test_eval_is_sign_with_sign_of_zero_plus_one(spec):
    out = SignActivation(spec).eval()(X)
    assert torch.equal(out, torch.where(X >= 0, 1.0, -1.0).double())


def test_stochastic_binarization_takes_plus_one_with_hard_sigmoid_odds():
    torch.manual_seed(0)
    activation = SignActivation(SignSpec(stochastic=True)).train()
    for value, odds in [(-1.5, 0.0), (-0.5, 0.25), (0.0, 0.5), (0.6, 0.8), (1.0, 1.0), (3.0, 1.0)]:
        share = float((activation(torch.full((40_000,), value)) > 0).double().mean())
        assert abs(share - odds) < 0.01, (value, share)


TEMPLATE = """
name = "vertebral-{name}"
[data]
set = "vertebral"
input_bits = 6
[[layer]]
dense = 24
activation = "sign"
{keys}
[[layer]]
dense = 12
activation = "sign"
{keys}
[[layer]]
dense = 3
[train]
epochs = 4
batch_size = 16
learning_rate = 0.02
[hardware]
folding = ["8x3", "4x24", "3x12"]
input_per_beat = 3
"""


# Every estimator trains a net whose forward pass is sign(x) (sign(0) = +1), so every
# one lowers to the same kind of graph and hardware: each is exported (which fails on
# any image where the graph and torch eval disagree); ReSTE and stochastic
# binarization, the two the project's notebooks train, go on through Verilator.
@pytest.mark.slow
@pytest.mark.parametrize("name, keys, rtl", [
    ("reste", 'estimator = "reste"\nreste_o = 3\nreste_t = 1.5', True),
    ("approx-sign", 'estimator = "approx-sign"', False),
    ("swish-sign", 'estimator = "swish-sign"\nswish_beta = 5', False),
    ("stochastic", 'binarize = "stochastic"', True),
])
def test_each_estimator_lowers_to_the_graph_and_rtl(tmp_path, name, keys, rtl):
    model = tmp_path / f"{name}.toml"
    model.write_text(TEMPLATE.format(name=name, keys=keys))
    out = tmp_path / "run"
    if not rtl:
        assert main(["train", "--model", str(model), "--out", str(out)]) == 0
        assert main(["export", "--out", str(out)]) == 0
        assert (out / "graph.json").is_file()
        return
    assert main(["flow", "--model", str(model), "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["images"] == 62 and report["mismatches"] == 0 and report["torch_golden_disagreements"] == 0
    assert report["accuracy"]["torch"] == report["accuracy"]["golden"] == report["accuracy"]["rtl"] > 0.4
