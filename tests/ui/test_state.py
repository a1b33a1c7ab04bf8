"""The Compare page's state and its URL: any state survives the trip through a shared link, and
any URL, however tampered with, opens a usable page (bad values fall back, one notice each)."""

from __future__ import annotations

import math
from dataclasses import replace
from urllib.parse import parse_qs, urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from strategies import WIDE, schedule_arguments  # tests/strategies.py
from strategies import hyperparameters as valid_hyperparameters

from landscapes import Bounds, landscape_names
from optimizers import SCHEDULES, get_optimizer, optimizer_names
from optimizers.schedules import WARMUP, check_schedule_arguments
from ui.state import (
    DEFAULT,
    KNOWN_KEYS,
    MAX_CARDS,
    MAX_COORDINATE,
    MAX_STARTS,
    MAX_STEPS,
    SPEEDS,
    VIEWS,
    Card,
    CompareState,
    card,
    default_cards,
    from_query,
    to_query,
    with_defaults_of,
)

FUZZ_SETTINGS = settings(max_examples=200, deadline=None, report_multiple_bugs=False,
                         suppress_health_check=[HealthCheck.too_slow])


def through_the_browser(query: dict[str, str | list[str]]) -> dict[str, list[str]]:
    """What a browser hands back: the query written into an address and parsed out of it again."""
    return parse_qs(urlencode(query, doseq=True))


# -- strategies: valid states (each optimizer's and schedule's values from tests/strategies.py) ----
@st.composite
def hyperparameters(draw, name: str) -> dict:
    """A valid setting of `name`'s hyperparameters, some of them left at their defaults."""
    values = draw(valid_hyperparameters(name, WIDE, defaults=True))
    return {h.name: h.check(values[h.name]) for h in get_optimizer(name).hyperparameters}


@st.composite
def schedules(draw, random_arguments: bool = False) -> dict | None:
    """None, or a schedule with its default (or any valid) arguments and maybe a warmup."""
    if not draw(st.booleans()):
        return None
    schedule = SCHEDULES[draw(st.sampled_from(sorted(SCHEDULES)))]
    drawn = draw(schedule_arguments(schedule.name, WIDE)) if random_arguments else {}
    arguments = {a.name: a.check(drawn.get(a.name, a.default)) for a in schedule.arguments}
    warmup = draw(st.sampled_from([0, 0, 1, 25]))
    return {"name": schedule.name, **arguments, **({"warmup": warmup} if warmup else {})}


@st.composite
def cards(draw, random_schedule_arguments: bool = False) -> tuple[Card, ...]:
    count = draw(st.integers(0, 6))
    slots = draw(st.lists(st.integers(0, 2 * MAX_CARDS), min_size=count, max_size=count, unique=True))
    drawn = []
    for slot in slots:
        name = draw(st.sampled_from(optimizer_names()))
        drawn.append(card(name, slot, draw(schedules(random_schedule_arguments)), draw(st.booleans()),
                          **draw(hyperparameters(name))))
    return tuple(drawn)


coordinates = st.floats(-MAX_COORDINATE, MAX_COORDINATE, allow_nan=False)
formulas = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=200)


@st.composite
def bounds(draw) -> Bounds | None:
    if not draw(st.booleans()):
        return None
    x0, x1 = sorted(draw(st.lists(coordinates, min_size=2, max_size=2, unique=True)))
    y0, y1 = sorted(draw(st.lists(coordinates, min_size=2, max_size=2, unique=True)))
    return Bounds.of(x0, x1, y0, y1)


@st.composite
def states(draw, random_schedule_arguments: bool = False) -> CompareState:
    formula = draw(st.one_of(st.just(""), formulas))
    landscape = DEFAULT.landscape if formula else draw(st.sampled_from(landscape_names()))
    return CompareState(
        landscape=landscape,
        formula=formula,
        cards=draw(st.one_of(st.just(default_cards(landscape, formula)), cards(random_schedule_arguments))),
        starts=tuple(draw(st.lists(st.tuples(coordinates, coordinates), max_size=MAX_STARTS))),
        steps=draw(st.integers(1, MAX_STEPS)),
        noise=draw(st.floats(0.0, 1e3)),
        seed=draw(st.integers(0, 2**32 - 1)),
        tol=draw(st.floats(0.0, 1e12, exclude_min=True)),
        log_loss=draw(st.booleans()),
        view=draw(st.sampled_from(VIEWS)),
        speed=draw(st.sampled_from(SPEEDS)),
        bounds=draw(bounds()),
        presentation=draw(st.booleans()),
    )


# -- round trip ------------------------------------------------------------------------
@FUZZ_SETTINGS
@given(state=states())
def test_every_valid_state_survives_its_query(state):
    read = from_query(to_query(state))
    assert read == state
    assert read.notices == ()


@FUZZ_SETTINGS
@given(state=states())
def test_every_valid_state_survives_a_browser_address(state):
    read = from_query(through_the_browser(to_query(state)))
    assert read == state
    assert read.notices == ()


@settings(max_examples=150, deadline=None)
@given(state=states(random_schedule_arguments=True))
def test_schedules_with_any_valid_arguments_survive_the_url(state):
    read = from_query(through_the_browser(to_query(state)))
    assert read == state
    assert read.notices == ()


@pytest.mark.parametrize("milestones", [(), (50,), (50, 150)], ids=["none", "one", "two"])
def test_multistep_milestones_of_any_length_survive_the_url(milestones):
    """The card's text box accepts any number of milestones, so the link must keep them all."""
    schedule = {"name": "MultiStepLR", "milestones": milestones, "gamma": 0.5}
    state = replace(DEFAULT, cards=(card("sgd", 0, schedule, lr=0.2),))
    read = from_query(through_the_browser(to_query(state)))
    assert read.cards[0].schedule_dict == schedule
    assert read.notices == ()


def test_query_values_are_strings_or_lists_of_strings():
    state = CompareState(landscape="rosenbrock", cards=(card("adam", 2, {"name": "StepLR", "step_size": 10,
                                                                         "gamma": 0.5}, True, lr=0.05),),
                         starts=((1.0, 2.0),), steps=10, noise=0.5, seed=3, tol=0.1, log_loss=False,
                         view="surface", speed=0.5, bounds=Bounds.of(-1.0, 1.0, -2.0, 2.0))
    for value in to_query(state).values():
        assert isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def test_the_default_state_writes_an_empty_query():
    assert to_query(DEFAULT) == {}


def test_an_empty_query_reads_as_the_default_state_without_notices():
    state = from_query({})
    assert state == DEFAULT
    assert state.notices == ()


def test_no_optimizers_is_written_as_opt_none_and_read_back_without_notices():
    state = replace(DEFAULT, cards=())
    assert to_query(state) == {"opt": ["none"]}
    read = from_query({"opt": "none"})
    assert read.cards == ()
    assert read.notices == ()


def test_a_formula_replaces_the_landscape_in_the_url():
    state = with_defaults_of(DEFAULT, DEFAULT.landscape, "x**2 + 3*sin(y)")
    assert to_query(state) == {"formula": "x**2 + 3*sin(y)"}
    assert from_query(through_the_browser(to_query(state))) == state


# -- tampered URLs -----------------------------------------------------------------------
ADAM = card("adam", 3, lr=0.05, betas=(0.8, 0.99))
SGD = card("sgd", 5, lr=0.2, momentum=0.5)
BASE = CompareState(landscape="rosenbrock", cards=(ADAM, SGD), starts=((1.0, 2.0), (-1.0, 0.5)), steps=300,
                    noise=0.1, seed=7, tol=1e-4, log_loss=False, view="surface", speed=2.0,
                    bounds=Bounds.of(-3.0, 3.0, -2.0, 4.0))
ADAM_TEXT = "adam,lr=0.05,betas=0.8/0.99,colour=3"
SGD_TEXT = "sgd,lr=0.2,momentum=0.5,colour=5"


def base_query(**changes: str | list[str]) -> dict[str, list[str]]:
    """BASE's query with some values replaced, as a browser delivers it."""
    query = through_the_browser(to_query(BASE))
    query.update({key: value if isinstance(value, list) else [value] for key, value in changes.items()})
    return query


def test_the_base_query_is_what_the_tampering_tests_start_from():
    assert base_query()["opt"] == [ADAM_TEXT, SGD_TEXT]
    assert from_query(base_query()) == BASE
    assert from_query(base_query()).notices == ()


def assert_one_notice_naming(state: CompareState, *words: str) -> None:
    assert len(state.notices) == 1, state.notices
    for word in words:
        assert word in state.notices[0], (word, state.notices[0])


SCALAR_FIELDS = {"landscape": "landscape", "steps": "steps", "noise": "noise", "seed": "seed", "tol": "tol",
                 "log": "log_loss", "view": "view", "speed": "speed", "bounds": "bounds"}


@pytest.mark.parametrize(("key", "text"), [
    ("landscape", "foo"), ("landscape", "QUADRATIC"),
    ("steps", "0"), ("steps", "100000"), ("steps", "abc"), ("steps", "1.5"), ("steps", "nan"),
    ("noise", "-1"), ("noise", "nan"), ("noise", "inf"), ("noise", "lots"),
    ("seed", "-1"), ("seed", "2.5"), ("seed", "99999999999"),
    ("tol", "0"), ("tol", "-1e-3"), ("tol", "nan"), ("tol", "inf"),
    ("log", "maybe"),
    ("view", "foo"), ("view", "Surface"),
    ("speed", "3"), ("speed", "nan"), ("speed", "fast"),
    ("bounds", "3,-3,-2,4"), ("bounds", "-3,3,4,-2"), ("bounds", "-3,-3,-2,4"), ("bounds", "1,2,3"),
    ("bounds", "1,2,3,4,5"), ("bounds", "-3,3,-2,inf"), ("bounds", "-3,nan,-2,4"), ("bounds", "a,b,c,d"),
    ("bounds", "-1e7,3,-2,4"),
])
def test_a_bad_value_falls_back_to_its_default_alone_with_a_notice(key, text):
    state = from_query(base_query(**{key: text}))
    field = SCALAR_FIELDS[key]
    # what the field is when the link leaves it out (steps and cards: the landscape's own)
    default = from_query({} if field == "landscape" else {"landscape": BASE.landscape})
    assert state == replace(BASE, **{field: getattr(default, field)})
    assert_one_notice_naming(state, key, text)


def test_an_unknown_parameter_is_ignored_with_a_notice():
    state = from_query(base_query(colour_scheme="dark"))
    assert state == BASE
    assert_one_notice_naming(state, "colour_scheme")


@pytest.mark.parametrize("start", ["1,2,3", "nan,1", "nan", "1,inf", "2e6,0", "x,y", "", "1;2"])
def test_a_bad_start_is_dropped_alone_with_a_notice(start):
    state = from_query(base_query(start=["1,2", start, "-1,0.5"]))
    assert state == BASE
    assert_one_notice_naming(state, "start", start)


def test_starts_past_the_limit_are_dropped_with_a_notice():
    starts = [f"{i},{-i}" for i in range(MAX_STARTS + 3)]
    state = from_query(base_query(start=starts))
    assert state == replace(BASE, starts=tuple((float(i), float(-i)) for i in range(MAX_STARTS)))
    assert_one_notice_naming(state, "start", str(MAX_STARTS))


# (the tampered first card's text, the card it reads as, the words its notice must contain)
TAMPERED_CARDS = {
    "unknown hyperparameter": ("adam,lr=0.05,foo=1,betas=0.8/0.99,colour=3", ADAM, ("foo",)),
    "negative lr": ("adam,lr=-1,betas=0.8/0.99,colour=3", card("adam", 3, betas=(0.8, 0.99)), ("lr", "-1")),
    "nan lr": ("adam,lr=nan,betas=0.8/0.99,colour=3", card("adam", 3, betas=(0.8, 0.99)), ("lr", "nan")),
    "inf lr": ("adam,lr=inf,betas=0.8/0.99,colour=3", card("adam", 3, betas=(0.8, 0.99)), ("lr", "inf")),
    "lr not a number": ("adam,lr=fast,betas=0.8/0.99,colour=3", card("adam", 3, betas=(0.8, 0.99)),
                        ("lr", "fast")),
    "beta1 = 1": ("adam,lr=0.05,betas=1/0.5,colour=3", card("adam", 3, lr=0.05), ("betas",)),
    "one beta": ("adam,lr=0.05,betas=0.9,colour=3", card("adam", 3, lr=0.05), ("betas",)),
    "three betas": ("adam,lr=0.05,betas=0.9/0.9/0.9,colour=3", card("adam", 3, lr=0.05), ("betas",)),
    "eps = 0": ("adam,lr=0.05,betas=0.8/0.99,eps=0,colour=3", ADAM, ("eps", "0")),
    "amsgrad not a switch": ("adam,lr=0.05,betas=0.8/0.99,amsgrad=2,colour=3", ADAM, ("amsgrad", "2")),
    "polyak not a switch": ("adam,lr=0.05,betas=0.8/0.99,polyak=yes,colour=3", ADAM, ("polyak",)),
    "colour not a slot": ("adam,lr=0.05,betas=0.8/0.99,colour=red", replace(ADAM, slot=0), ("colour",)),
    "negative colour": ("adam,lr=0.05,betas=0.8/0.99,colour=-1", replace(ADAM, slot=0), ("colour",)),
    "unknown schedule": ("adam,lr=0.05,betas=0.8/0.99,schedule=Foo,colour=3", ADAM, ("Foo",)),
    "bad schedule argument": ("adam,lr=0.05,betas=0.8/0.99,schedule=StepLR,schedule.gamma=-1,colour=3",
                              card("adam", 3, {"name": "StepLR", "step_size": 30, "gamma": 0.1},
                                   lr=0.05, betas=(0.8, 0.99)), ("gamma", "-1")),
    "unknown schedule argument": ("adam,lr=0.05,betas=0.8/0.99,schedule=StepLR,schedule.foo=1,colour=3",
                                  card("adam", 3, {"name": "StepLR", "step_size": 30, "gamma": 0.1},
                                       lr=0.05, betas=(0.8, 0.99)), ("foo",)),
    "schedule arguments without a name": ("adam,lr=0.05,betas=0.8/0.99,schedule.gamma=0.5,colour=3", ADAM,
                                          ("schedule",)),
    "unknown schedule named by schedule.name": ("adam,lr=0.05,betas=0.8/0.99,schedule.name=Foo,colour=3", ADAM,
                                                ("Foo",)),
}


@pytest.mark.parametrize(("text", "expected", "words"), TAMPERED_CARDS.values(), ids=TAMPERED_CARDS.keys())
def test_a_bad_card_setting_falls_back_alone_with_a_notice(text, expected, words):
    state = from_query(base_query(opt=[text, SGD_TEXT]))
    assert state == replace(BASE, cards=(expected, SGD))
    assert_one_notice_naming(state, *words)


def test_an_out_of_range_momentum_falls_back_alone_with_a_notice():
    state = from_query(base_query(opt=[ADAM_TEXT, "sgd,lr=0.2,momentum=2,colour=5"]))
    assert state == replace(BASE, cards=(ADAM, card("sgd", 5, lr=0.2)))
    assert_one_notice_naming(state, "momentum", "2")


def test_an_unknown_optimizer_is_dropped_alone_with_a_notice():
    state = from_query(base_query(opt=[ADAM_TEXT, "lion,lr=0.1,colour=1", SGD_TEXT]))
    assert state == BASE
    assert_one_notice_naming(state, "lion")


def test_a_url_without_any_usable_optimizer_shows_the_default_ones():
    state = from_query(base_query(opt=["lion", "adam_x"]))
    assert state == replace(BASE, cards=default_cards(BASE.landscape))
    assert any("lion" in notice for notice in state.notices)
    assert any("adam_x" in notice for notice in state.notices)


def test_cards_past_the_limit_are_dropped_with_a_notice():
    texts = [f"sgd,lr={i + 1},colour={i}" for i in range(MAX_CARDS + 1)]
    state = from_query(base_query(opt=texts))
    assert state == replace(BASE, cards=tuple(card("sgd", i, lr=float(i + 1)) for i in range(MAX_CARDS)))
    assert_one_notice_naming(state, str(MAX_CARDS))


def test_cards_sharing_a_colour_get_distinct_ones_with_a_notice():
    state = from_query(base_query(opt=[ADAM_TEXT, "sgd,lr=0.2,momentum=0.5,colour=3"]))
    assert [c.slot for c in state.cards][0] == 3
    assert len({c.slot for c in state.cards}) == 2
    assert_one_notice_naming(state, "colour")


def test_an_invalid_combination_keeps_a_valid_card_and_everything_else_with_a_notice():
    state = from_query(base_query(opt=[ADAM_TEXT, "sgd,lr=0.2,nesterov=1,colour=5"]))
    read = state.cards[1]
    assert state == replace(BASE, cards=(ADAM, read))
    assert (read.optimizer, read.slot) == ("sgd", 5)
    get_optimizer("sgd").validate(**read.hyperparameters)
    assert_one_notice_naming(state, "nesterov")


def test_a_repeated_setting_keeps_the_last_value():
    state = from_query(base_query(steps=["20", "40"]))
    assert state == replace(BASE, steps=40)
    assert state.notices == ()


# -- fuzzing -------------------------------------------------------------------------------
ARGUMENT_NAMES = sorted({a.name for s in SCHEDULES.values() for a in s.arguments} | {"warmup", "name"})
HYPERPARAMETER_NAMES = sorted({h.name for name in optimizer_names() for h in get_optimizer(name).hyperparameters})
any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
numbers_text = st.one_of(st.floats().map(repr), st.integers(-10**20, 10**20).map(str),
                         st.sampled_from(["nan", "inf", "-inf", "1e999", "0", "1", "-0", "", "1_0", " 2 ", "٣"]))
value_text = st.one_of(numbers_text, any_text, st.sampled_from(sorted(SCHEDULES)),
                       st.lists(numbers_text, max_size=4).map("/".join),
                       st.lists(numbers_text, max_size=5).map(",".join))
setting_key = st.one_of(st.sampled_from([*HYPERPARAMETER_NAMES, "polyak", "colour", "schedule"]),
                        st.sampled_from(ARGUMENT_NAMES).map("schedule.".__add__), any_text)


@st.composite
def card_texts(draw) -> str:
    """Card texts that look like the real thing, with anything in the values."""
    name = draw(st.one_of(st.sampled_from([*optimizer_names(), "none"]), any_text))
    pairs = draw(st.lists(st.tuples(setting_key, value_text).map("=".join), max_size=6))
    return ",".join([name, *pairs])


query_values = st.lists(st.one_of(value_text, card_texts(), st.sampled_from(landscape_names())), max_size=6)
queries = st.dictionaries(st.one_of(st.sampled_from(sorted(KNOWN_KEYS)), any_text), query_values, max_size=8)


def assert_usable(state: CompareState) -> None:
    """What the page relies on: every card runs, every start is a point, every setting is in range."""
    assert isinstance(state, CompareState)
    assert len(state.cards) <= MAX_CARDS
    assert len({c.slot for c in state.cards}) == len(state.cards)
    for c in state.cards:
        assert isinstance(c.slot, int) and 0 <= c.slot <= 2 * MAX_CARDS
        assert isinstance(c.polyak, bool)
        get_optimizer(c.optimizer).validate(**c.hyperparameters)
        if c.schedule:
            arguments = {k: v for k, v in c.schedule if k not in ("name", "warmup")}
            check_schedule_arguments(c.schedule_dict["name"], arguments)
            WARMUP.check(c.schedule_dict.get("warmup", 0))
    assert len(state.starts) <= MAX_STARTS
    assert all(math.isfinite(v) and abs(v) <= MAX_COORDINATE for start in state.starts for v in start)
    assert 1 <= state.steps <= MAX_STEPS
    assert state.noise >= 0 and state.tol > 0 and 0 <= state.seed < 2**32
    assert state.view in VIEWS and state.speed in SPEEDS
    assert state.landscape in landscape_names()
    if state.bounds is not None:
        x0, x1, y0, y1 = state.bounds
        assert x0 < x1 and y0 < y1
    assert all(isinstance(notice, str) for notice in state.notices)


@FUZZ_SETTINGS
@given(query=queries)
@example(query={"opt": ["adam,schedule.name=Foo"]})
@example(query={"opt": ["adam,colour=red", "sgd,colour=red"]})
@example(query={"opt": ["adam,polyak=yes"]})
def test_no_url_makes_reading_raise_and_every_state_read_is_usable(query):
    assert_usable(from_query(query))


@FUZZ_SETTINGS
@given(query=st.dictionaries(any_text, st.one_of(any_text, st.lists(any_text, max_size=5)), max_size=8))
def test_no_url_of_arbitrary_text_makes_reading_raise(query):
    assert_usable(from_query(query))


@FUZZ_SETTINGS
@given(query=queries)
@example(query={"opt": ["adam,colour=-1"]})
def test_a_state_read_from_any_url_can_be_shared_again_exactly(query):
    state = from_query(query)
    again = from_query(through_the_browser(to_query(state)))
    assert again == state
    assert again.notices == ()


# -- free slot ------------------------------------------------------------------------------
@pytest.mark.parametrize(("slots", "free"), [((), 0), ((0, 1, 2, 3, 4), 5), ((0, 2), 1), ((1, 2), 0),
                                             ((3, 0, 1), 2)])
def test_the_free_slot_is_the_lowest_one_no_card_uses(slots, free):
    state = replace(DEFAULT, cards=tuple(card("sgd", slot) for slot in slots))
    assert state.free_slot() == free


@given(slots=st.lists(st.integers(0, MAX_CARDS), max_size=MAX_CARDS, unique=True))
def test_a_new_card_never_takes_a_used_colour(slots):
    state = replace(DEFAULT, cards=tuple(card("sgd", slot) for slot in slots))
    free = state.free_slot()
    assert free not in slots
    assert all(slot in slots for slot in range(free))


def test_each_landscape_writes_a_short_link_for_its_own_defaults():
    for name in landscape_names():
        state = with_defaults_of(DEFAULT, name)
        assert to_query(state) == ({} if name == DEFAULT.landscape else {"landscape": name})
        assert from_query(to_query(state)) == state


def test_cards_without_a_colour_in_the_link_take_free_ones_silently():
    state = from_query({"opt": ["adam", "sgd", "rmsprop,colour=0"]})
    assert [c.slot for c in state.cards] == [1, 2, 0]
    assert state.notices == ()


def test_twenty_identical_cards_give_one_notice():
    state = from_query({"opt": ["sgd"] * 20})
    assert len(state.cards) == MAX_CARDS and len({c.slot for c in state.cards}) == MAX_CARDS
    assert len(state.notices) == 1 and f"first {MAX_CARDS}" in state.notices[0]
