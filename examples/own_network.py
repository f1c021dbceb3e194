"""Your own network, built and trained in your own script, then handed to hwgen.

    python examples/own_network.py --out runs/my-digits
    hwgen verilog --out runs/my-digits && hwgen sim --out runs/my-digits && hwgen report --out runs/my-digits

A binarized MLP on scikit-learn's 8x8 digits (pixels 0..16, five bits), built
from hwgen's layers and trained with a plain loop. ``export_run`` lowers it to
the integer graph, checks that the graph predicts exactly what torch eval does
on every test image, and writes the run folder.
"""
import argparse

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from hwgen.train.layers import BinaryLinear, PositiveScale, SignActivation
from hwgen.train.run_export import export_run

PIXEL_BITS = 5


def build() -> nn.Sequential:
    # Binary weights; batch norm then sign between layers (hwgen folds the two into
    # one integer threshold); the last layer's integer logits scaled for the loss.
    return nn.Sequential(
        BinaryLinear(64, 64), nn.BatchNorm1d(64), SignActivation(),
        BinaryLinear(64, 10), PositiveScale(1 / 8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/my-digits", help="run folder (default: runs/my-digits)")
    parser.add_argument("--epochs", type=int, default=30, help="training epochs (default: 30)")
    args = parser.parse_args()

    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data.astype("uint8"), digits.target, test_size=0.2, random_state=0, stratify=digits.target)
    torch.manual_seed(0)
    model = build()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    x, y = torch.tensor(x_train, dtype=torch.float32), torch.tensor(y_train)
    for epoch in range(args.epochs):
        model.train()
        for batch in torch.randperm(len(x)).split(64):
            loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            for layer in model:
                if hasattr(layer, "clamp_latent_"):
                    layer.clamp_latent_()   # keep latent weights in [-1, 1], where the STE passes gradients
    model.eval()
    with torch.no_grad():
        accuracy = (model(torch.tensor(x_test, dtype=torch.float32)).argmax(1).numpy() == y_test).mean()
    folder = export_run(model, args.out, name="my-digits", test_images=x_test, test_labels=y_test,
                        input_bits=PIXEL_BITS, folding=["8x16", "10x8"], input_per_beat=16,
                        description="a binarized MLP trained in examples/own_network.py")
    print(f"trained: test accuracy {accuracy:.2%} (torch eval); wrote {folder}; next: hwgen verilog --out {folder}")


if __name__ == "__main__":
    main()
