"""Parity with torch.optim and optax: every reference trajectory is reproduced to float64 round-off.

The reference data (tests/data/optimizer_trajectories.json, described in
tests/data/REFERENCE_README.md) was computed with torch.optim and optax; bench/make_reference.py
regenerates it. A point matches
when |ours − ref| ≤ 1e-9·|ref| + 1e-12, coordinate by coordinate.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from landscapes import from_expression, get_landscape
from optimizers import SCHEDULES, get_optimizer, optimizer_names, simulate

DATA = Path(__file__).resolve().parents[1] / "data" / "optimizer_trajectories.json"
REFERENCE = json.loads(DATA.read_text())
CASES = REFERENCE["cases"]
RELATIVE, ABSOLUTE = 1e-9, 1e-12
# Two starts the reference start sits between when it is run as part of a batch.
NEIGHBOURS = ((0.3, -0.2), (1.1, 0.7))


@cache
def reference_landscape(function: str, source: str = "expression"):
    """The reference function, parsed from its text or (quadratic only) from the catalog."""
    if source == "catalog":
        return get_landscape(function)
    return from_expression(REFERENCE["functions"][function])


def our_optimizer(case: dict) -> str:
    """`torch.optim.NAdam` -> "nadam", `optax.adabelief` -> "adabelief"."""
    return case["optimizer"].rsplit(".", 1)[-1].lower()


def our_hyperparameters(case: dict) -> dict:
    """Torch keywords as they are; optax's `learning_rate`, `b1`, `b2` renamed; lists as tuples."""
    given = dict(case["hyperparameters"])
    if "learning_rate" in given:
        given["lr"] = given.pop("learning_rate")
    if "b1" in given or "b2" in given:
        given["betas"] = (given.pop("b1", 0.9), given.pop("b2", 0.999))
    return {key: tuple(value) if isinstance(value, list) else value for key, value in given.items()}


def our_schedule(case: dict) -> dict | None:
    """`{"torch_class": "torch.optim.lr_scheduler.StepLR", "step_size": 30, ...}`
    -> `{"name": "StepLR", "step_size": 30}`.

    CyclicLR and OneCycleLR references were made with ``cycle_momentum=False``: the project
    models the rate only (see `optimizers.schedules.cyclic_lr`), so that argument is dropped.
    """
    schedule = case["schedule"]
    if schedule is None:
        return None
    arguments = {key: value for key, value in schedule.items() if key not in ("torch_class", "stepped")}
    assert arguments.pop("cycle_momentum", False) is False, case["id"]
    return {"name": schedule["torch_class"].rsplit(".", 1)[-1], **arguments}


def assert_matches_reference(ours: np.ndarray, reference: np.ndarray, what: str) -> None:
    assert ours.shape == reference.shape, f"{what}: shape {ours.shape} != {reference.shape}"
    error = np.abs(ours - reference)
    allowed = RELATIVE * np.abs(reference) + ABSOLUTE
    bad = np.argwhere(~(error <= allowed))
    assert len(bad) == 0, (
        f"{what}: {len(bad)} values off; first at index {tuple(bad[0])}: "
        f"ours {ours[tuple(bad[0])]!r}, reference {reference[tuple(bad[0])]!r}")


def case_sources(case: dict) -> list[str]:
    return ["expression", "catalog"] if case["function"] == "quadratic" else ["expression"]


PARAMS = [pytest.param(case, source, id=f"{case['id']}-{source}")
          for case in CASES for source in case_sources(case)]


def reference_rates(case: dict) -> np.ndarray:
    """The rate of every step: recorded for torch cases, the constant lr for optax ones."""
    if case.get("learning_rates"):
        return np.array(case["learning_rates"], dtype=float)
    assert case["schedule"] is None, case["id"]
    return np.full(case["steps"], float(our_hyperparameters(case)["lr"]))


def test_reference_data_is_complete():
    assert len(CASES) >= 20
    for case in CASES:
        assert len(case["trajectory"]) == case["steps"] + 1, case["id"]
        assert case["trajectory"][0] == case["start"], case["id"]
        assert case["function"] in REFERENCE["functions"], case["id"]


def test_every_reference_optimizer_exists():
    assert {our_optimizer(case) for case in CASES} <= set(optimizer_names())


def test_every_torch_optimizer_the_project_has_a_reference_for():
    """Each optimizer whose record cites torch.optim is checked against torch here."""
    cited = {name for name in optimizer_names() if "torch.optim." in get_optimizer(name).reference}
    assert cited == {our_optimizer(case) for case in CASES if case["optimizer"].startswith("torch.optim.")}
    assert {"radam", "rprop"} <= cited


def test_every_torch_schedule_has_a_reference_and_only_torchs_claim_torch():
    """`Schedule.torch_class` is the class torch has (per the reference data), with a case to prove it;
    the slides' own schedules are not torch's."""
    in_torch = set(REFERENCE["torch_lr_schedulers"])
    referenced = {our_schedule(case)["name"] for case in CASES if case["schedule"] is not None}
    for name, schedule in SCHEDULES.items():
        if schedule.torch_class:
            assert schedule.torch_class == f"torch.optim.lr_scheduler.{name}"
            assert name in in_torch, f"{name} claims to be torch's"
            assert name in referenced, f"{name} has no torch reference case"
        else:
            assert name not in in_torch, f"{name} is torch's: say so in its record"
            assert schedule.origin.startswith("the slides")
    assert len(referenced) >= 10


def test_the_diverging_case_is_present():
    """public-02 grows large on purpose; it must match too, not be dropped or marked diverged."""
    case = next(case for case in CASES if case["id"].startswith("public-02"))
    assert np.abs(np.array(case["trajectory"])).max() > 1e6


@pytest.mark.parametrize(("case", "source"), PARAMS)
def test_single_start_matches_reference(case, source):
    land = reference_landscape(case["function"], source)
    run = simulate(land, our_optimizer(case), [case["start"]], case["steps"],
                   schedule=our_schedule(case), record="path", **our_hyperparameters(case))
    assert run.diverged.tolist() == [-1]
    assert_matches_reference(run.points[0], np.array(case["trajectory"]), "trajectory")
    assert_matches_reference(run.lrs, reference_rates(case), "learning rates")


@pytest.mark.parametrize(("case", "source"), PARAMS)
def test_start_inside_a_batch_matches_reference(case, source):
    land = reference_landscape(case["function"], source)
    starts = [NEIGHBOURS[0], case["start"], NEIGHBOURS[1]]
    run = simulate(land, our_optimizer(case), starts, case["steps"],
                   schedule=our_schedule(case), record="path", **our_hyperparameters(case))
    assert run.points.shape == (3, case["steps"] + 1, 2)
    assert run.diverged[1] == -1
    assert_matches_reference(run.points[1], np.array(case["trajectory"]), "trajectory")
    assert_matches_reference(run.final_points[1], np.array(case["trajectory"][-1]), "final point")
    assert_matches_reference(run.lrs, reference_rates(case), "learning rates")


@pytest.mark.parametrize(("case", "source"), PARAMS)
def test_final_only_run_ends_where_the_reference_ends(case, source):
    land = reference_landscape(case["function"], source)
    run = simulate(land, our_optimizer(case), [case["start"]], case["steps"],
                   schedule=our_schedule(case), record="final", **our_hyperparameters(case))
    assert run.points is None
    assert_matches_reference(run.final_points[0], np.array(case["trajectory"][-1]), "final point")


def test_adabelief_defaults_follow_optax():
    """optax.adabelief: b1 0.9, b2 0.999, eps 1e-16, eps_root 1e-16 (the reference used them)."""
    run = simulate("quadratic", "adabelief", [(-4.0, 2.0)], 0)
    defaults = run.hyperparameters
    assert defaults["betas"] == (0.9, 0.999)
    assert defaults["eps"] == 1e-16
    assert defaults["eps_root"] == 1e-16
