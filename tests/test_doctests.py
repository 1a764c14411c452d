"""The package's docstring examples run: every ``>>>`` in recsys/ is a test."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import recsys

MODULES = sorted(m.name for m in pkgutil.walk_packages(recsys.__path__, "recsys."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_some_examples_exist():
    finder = doctest.DocTestFinder()
    examples = sum(len(t.examples) for n in MODULES for t in finder.find(importlib.import_module(n)))
    assert examples >= 10
