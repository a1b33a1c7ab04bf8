"""A lecture runs any setup of cards, a story's own included: every story that a card can say runs
through the same path (each card with its own noise) and gives exactly the story's points; the
(α, β) map and theory's "use these settings" change the cards; Compare's "Lecture this" link
opens its landscape, starts and first three cards."""

import numpy as np
import pytest

from optimizers import get_optimizer
from optimizers.theory import quadratic_theory
from presets import PRESETS
from ui import lecture
from ui.lecture import LectureState, Setup, from_query, lecture_runs, setup_of, story_setup, to_query
from ui.state import CompareState, card

REPRESENTABLE = [name for name, p in PRESETS.items() if not any(line.custom for line in p.lines)]


@pytest.mark.parametrize("story", REPRESENTABLE)
def test_a_story_runs_from_its_cards_and_gives_exactly_its_own_points(story):
    setup = story_setup(PRESETS[story])
    assert setup is not None and len(setup.noises) == len(setup.cards) == len(PRESETS[story].lines)
    _, runs = lecture_runs(LectureState(story))
    own = PRESETS[story].runs()
    assert list(runs) == list(own)
    for label, run in own.items():
        assert np.array_equal(runs[label].points, run.points, equal_nan=True), label
        assert runs[label].noise == run.noise


@pytest.mark.parametrize("story", ["saddle_escape"])  # minibatch_noise: real mini-batches now, no card says them
def test_stories_with_a_noise_per_line_carry_it_per_card(story):
    preset = PRESETS[story]
    setup = story_setup(preset)
    wanted = tuple(preset.noise if line.noise is None else line.noise for line in preset.lines)
    assert setup.noises == wanted and len(set(wanted)) > 1
    # A changed setup keeps each card's noise through the URL (cardnoise=…)
    changed = lecture.with_momentum_setting(LectureState(story), 0.02, 0.5) if story == "saddle_escape" else \
        lecture.with_setup(LectureState(story), setup.with_cards(setup.cards, (0.0, 1.0, 2.0)))
    assert changed.setup is not None
    query = to_query(changed)
    assert "cardnoise" in query
    back = from_query(query)
    assert back == changed and back.setup.noises == changed.setup.noises


def test_stories_with_their_own_formulation_keep_their_runs():
    for story in set(PRESETS) - set(REPRESENTABLE):
        assert setup_of(LectureState(story)) is None
        _, runs = lecture_runs(LectureState(story))
        assert list(runs) == [line.label for line in PRESETS[story].lines]


def test_a_map_click_sets_lr_and_momentum_on_the_momentum_card_only():
    state = lecture.with_momentum_setting(LectureState("momentum_damps", line=1), 0.3, 0.6)
    sgd, momentum = state.setup.cards
    assert sgd == story_setup(PRESETS["momentum_damps"]).cards[0]
    assert momentum.hyperparameters == {"lr": 0.3, "momentum": 0.6}
    _, runs = lecture_runs(state)
    changed = list(runs.values())[1]
    assert changed.hyperparameters["lr"] == 0.3 and changed.hyperparameters["momentum"] == 0.6
    assert list(runs)[0] == "SGD"  # the untouched line keeps the story's label
    assert from_query(to_query(state)) == state and to_query(state)["story"] == "momentum_damps"


def test_a_map_click_on_a_plain_sgd_story_gives_its_card_momentum():
    state = lecture.with_momentum_setting(LectureState("sgd_ill_conditioned"), 0.15, 0.5)
    assert state.setup.cards[0].hyperparameters == {"lr": 0.15, "momentum": 0.5}


def test_setting_the_story_back_stores_no_setup():
    story = LectureState("momentum_damps")
    own = story_setup(PRESETS["momentum_damps"])
    assert lecture.with_setup(story, own).setup is None
    assert to_query(story) == {"story": "momentum_damps"}


@pytest.mark.parametrize("method", ["gd", "heavy_ball", "nesterov"])
def test_use_these_settings_sets_theory_tuning_and_its_rate_is_measured(method):
    theory = quadratic_theory("quadratic", (-4.0, 2.0))
    state = lecture.with_theory_setting(LectureState("momentum_damps"), method, theory)
    _, runs = lecture_runs(state)
    run = list(runs.values())[state.line]
    optimizer, settings = theory.card_settings(method)
    for name, value in settings.items():
        assert run.hyperparameters[name] == value, name
    if method == "nesterov":  # no Nesterov card in the story: one is added, its equations shown
        assert len(state.setup.cards) == 3 and state.line == 2
    else:
        assert len(state.setup.cards) == 2
    rate = {"gd": theory.optimal_rate, "heavy_ball": theory.heavy_ball.rate, "nesterov": theory.nesterov.rate}[method]
    distance = np.linalg.norm(run.points[0], axis=1)
    assert distance[-1] < distance[0] * (rate * 1.05) ** len(distance[:-1])


def test_the_theory_table_has_the_stable_region_and_nesterov():
    rows = dict(lecture.theory_rows(quadratic_theory("quadratic"), momentum=0.4))
    assert "lr < 0.7" in rows["momentum's stable region"]  # (2 + 2·0.4)/4
    nesterov = quadratic_theory("quadratic").nesterov
    assert f"lr {4 / (3 * 4 + 0.2):.4g}" in rows["Nesterov (Lessard) 4/(3L+μ), β"]
    assert f"{nesterov.momentum:.4g}" in rows["Nesterov (Lessard) 4/(3L+μ), β"]


def test_lecture_this_opens_the_compare_landscape_starts_and_first_three_cards():
    cards = tuple(card(name, slot, lr=0.05) for slot, name in enumerate(("sgd", "adam", "rmsprop", "adagrad")))
    compare = CompareState(landscape="rosenbrock", cards=cards, starts=((-1.0, 2.0), (1.5, -0.5)), steps=80,
                           noise=0.25, seed=3)
    url = lecture.lecture_url_of(compare)
    assert url.startswith("/lecture?") and "story" not in url
    from urllib.parse import parse_qs, urlsplit

    state = from_query(parse_qs(urlsplit(url).query))
    assert state.story == "" and state.preset is None and not state.notices
    assert state.setup.cards == cards[:3] and state.setup.noises == (0.25,) * 3
    assert state.setup.compare.starts == compare.starts and state.setup.compare.seed == 3
    landscape, runs = lecture_runs(state)
    assert landscape.name == "rosenbrock" and len(runs) == 3
    assert all(run.points.shape == (2, 81, 2) and run.noise == 0.25 for run in runs.values())
    assert [get_optimizer(run.optimizer).title for run in runs.values()] == ["SGD", "Adam", "RMSProp"]


def test_a_lecture_link_with_unusable_values_says_so_and_still_opens():
    state = from_query({"opt": "warp_drive", "cardnoise": "1,2"})
    assert any("warp_drive" in n for n in state.notices) and any("cardnoise" in n for n in state.notices)
    assert state.setup is not None and set(state.setup.noises) == {0.0}
    _, runs = lecture_runs(state)
    assert runs


def test_a_setup_needs_a_noise_per_card():
    with pytest.raises(ValueError):
        Setup(CompareState(), (0.0,) * (len(CompareState().cards) + 1))


def test_a_formula_comparison_survives_the_lecture_url_and_runs_on_that_formula():
    from urllib.parse import parse_qs, urlsplit

    from landscapes import Bounds

    compare = CompareState(formula="x**2 + 3*sin(y)", bounds=Bounds.of(-2, 2, -3, 3),
                           cards=(card("adam", 0, None, True, lr=0.05), card("sgd", 2, lr=0.2, momentum=0.5)),
                           starts=((1.0, 1.0),), steps=50, noise=0.1, seed=4)
    state = from_query(parse_qs(urlsplit(lecture.lecture_url_of(compare)).query))
    assert not state.notices and state.setup.cards == compare.cards
    assert state.setup.compare.bounds == compare.bounds and state.setup.noises == (0.1, 0.1)
    assert from_query(to_query(state)) == state
    landscape, runs = lecture_runs(state)
    assert float(landscape.loss(np.float64(1.0), np.float64(0.0))) == 1.0
    assert [run.hyperparameters["lr"] for run in runs.values()] == [0.05, 0.2]
    assert all(run.points.shape == (1, 51, 2) for run in runs.values())
