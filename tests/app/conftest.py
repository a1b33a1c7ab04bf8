"""Fixtures for the AppTest tests (helpers in apptest_helpers.py)."""

import pytest
from apptest_helpers import open_app
from streamlit.testing.v1 import AppTest


@pytest.fixture
def app() -> AppTest:
    return open_app()
