"""Every story's claim holds on exactly the runs it shows, and its stages fit its steps."""

import numpy as np
import pytest

from landscapes import parse_formula
from optimizers import get_optimizer, simulate
from presets import PRESETS, Line, Preset, step_rule
from presets.core import expect

NAMES = list(PRESETS)


def test_at_least_the_eighteen_stories_of_the_course():
    assert len(PRESETS) >= 18
    for story in ("sgd_ill_conditioned", "momentum_damps", "nesterov_lookahead", "saddle_escape",
                  "rosenbrock_overshoot", "local_minimum", "adagrad", "rmsprop_leaky", "adam_bias_correction",
                  "amsgrad_counterexample", "weight_decay", "learning_rate", "lr_decay", "minibatch_noise",
                  "momentum_formulations", "newton_one_step", "damped_newton", "polyak_averaging",
                  "symmetry_breaking"):
        assert story in PRESETS, story


@pytest.mark.parametrize("name", NAMES)
def test_story_claim_holds_on_its_runs(name):
    story = PRESETS[name]
    story.check()  # raises with the number that failed
    assert story.verify() is True


@pytest.mark.parametrize("name", NAMES)
def test_story_record_is_complete_and_small(name):
    story = PRESETS[name]
    assert story.name == name and story.title and story.claim
    assert story.claim.count(". ") == 0 and story.claim.endswith("."), "the claim is one sentence"
    assert 1 <= len(story.lines) <= 4 and 1 <= len(story.starts) <= 12 and 1 <= story.steps <= 1000
    assert len({line.label for line in story.lines}) == len(story.lines), "labels key the runs"
    for line in story.lines:
        if line.rule is None:
            get_optimizer(line.optimizer).validate(**line.settings)


@pytest.mark.parametrize("name", NAMES)
def test_stages_lie_within_the_steps_and_are_ordered(name):
    story = PRESETS[name]
    assert story.stages
    for stage in story.stages:
        assert 0 <= stage.first_step <= stage.last_step <= story.steps, stage
        assert stage.sentence.strip().endswith((".", "!")), stage
    firsts = [stage.first_step for stage in story.stages]
    assert firsts == sorted(firsts), f"stages out of order: first steps {firsts}"


@pytest.mark.parametrize("name", NAMES)
def test_runs_are_finite_full_records_of_every_line(name):
    story = PRESETS[name]
    runs = story.runs()
    assert list(runs) == [line.label for line in story.lines]
    for label, run in runs.items():
        assert run.points.shape == (len(story.starts), story.steps + 1, 2), label
        assert run.grads is not None, label
        if label != "lr 0.6 (too high)":
            assert (run.diverged == -1).all() and np.isfinite(run.points).all(), label


@pytest.mark.parametrize("name", NAMES)
def test_page_state_loads_the_story(name):
    from ui.state import from_query, to_query

    story = PRESETS[name]
    state = story.state()
    assert state.steps == story.steps and state.starts == story.starts and state.noise == story.noise
    assert [c.optimizer for c in state.cards] == [line.optimizer for line in story.lines if line.rule is None]
    if story.formula:
        assert parse_formula(state.formula) == story.landscape_record.expression
    else:
        assert state.landscape == story.landscape
    back = from_query(to_query(state))
    assert back == state and not back.notices, back.notices


@pytest.mark.parametrize("name", [n for n in NAMES if PRESETS[n].exact_state])
def test_the_page_state_reproduces_the_runs(name):
    """Where the Compare state can say it all, simulating its cards gives the story's runs bit for bit."""
    story = PRESETS[name]
    state = story.state()
    for c, (label, run) in zip(state.cards, story.runs().items(), strict=True):
        again = simulate(story.landscape_record, c.optimizer, state.starts, state.steps, schedule=c.schedule_dict,
                         noise=state.noise, seed=state.seed, record="path", **c.hyperparameters)
        np.testing.assert_array_equal(again.points, run.points, err_msg=label)


def test_stories_that_the_page_state_cannot_say_explain_why():
    inexact = [story for story in PRESETS.values() if not story.exact_state]
    assert {s.name for s in inexact} >= {"amsgrad_counterexample", "minibatch_noise", "momentum_formulations"}
    for story in inexact:
        assert story.adapted, story.name


def test_step_rule_reproduces_simulate_for_a_registry_line():
    land = PRESETS["adagrad"].landscape_record
    line = Line("Adam", "adam", {"lr": 0.1, "betas": (0.8, 0.99)})
    starts = [(-4.0, 2.0), (3.0, -1.0)]
    ours = step_rule(land, line, starts, 50, noise=0.3, seed=4)
    theirs = simulate(land, "adam", starts, 50, noise=0.3, seed=4, lr=0.1, betas=(0.8, 0.99))
    np.testing.assert_array_equal(ours.points, theirs.points)
    np.testing.assert_array_equal(ours.states["second_moment"], theirs.states["second_moment"])


def test_a_broken_claim_fails_with_the_number_that_failed():
    story = PRESETS["learning_rate"]

    def claims_too_much(runs, land):
        expect(runs["lr 0.01 (too low)"].points[0, -1, 0] > 0,
               f"x ended at {runs['lr 0.01 (too low)'].points[0, -1, 0]:.3g}")

    broken = Preset(**{**{f: getattr(story, f) for f in ("name", "title", "claim", "landscape", "lines", "starts",
                                                         "steps", "stages")}, "checks": claims_too_much})
    assert broken.verify() is False
    with pytest.raises(AssertionError, match="x ended at -3"):
        broken.check()
