"""The README's notebook example, run by .ci/run from outside the checkout against an installed
package (`pip install .` into a fresh virtual environment): the library must work without the repo."""

import os
import sys
from pathlib import Path

here = Path.cwd().resolve()
for package in ("landscapes", "optimizers", "figures", "exports"):
    module = __import__(package)
    origin = Path(module.__file__).resolve()
    assert "site-packages" in origin.parts, f"{package} came from {origin}, not the installed package"

from landscapes import from_expression, get_landscape, landscape_names  # noqa: E402
from optimizers import optimizer_names, simulate  # noqa: E402

land = get_landscape("rosenbrock")
custom = from_expression("x**2 + 3*sin(y)")
run = simulate(land, "adam", starts=[(-1.5, 2.0), (0.0, 2.0)], steps=300,
               lr=0.05, betas=(0.9, 0.999),
               schedule={"name": "CosineAnnealingLR", "T_max": 300}, noise=0.0, seed=0)
assert run.points.shape == (2, 301, 2) and run.losses.shape == (2, 301) and run.lrs.shape == (300,)
assert (run.diverged == -1).all() and run.losses[:, -1].max() < run.losses[:, 0].min()
assert "rosenbrock" in landscape_names() and "adam" in optimizer_names()

from figures import comparison_figure  # noqa: E402

figure = comparison_figure(land, [run, simulate(land, "sgd", [(-1.5, 2.0)], 300, record="path", lr=1e-3)])
assert len(figure.frames) > 1
print(f"notebook example OK from {here} (python {sys.version.split()[0]}, pid {os.getpid()})")
