"""The examples in the library's docstrings run and print what they show."""

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("landscapes", "optimizers", "figures", "exports")
MODULES = sorted({f"{package}.{module.name}" for package in PACKAGES
                  for module in pkgutil.iter_modules(importlib.import_module(package).__path__)}
                 | set(PACKAGES) | {"ui.state"})


def test_every_library_package_has_examples():
    examples = sum(len(doctest.DocTestFinder().find(importlib.import_module(name))) for name in MODULES)
    assert examples >= 10


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (output above)"
