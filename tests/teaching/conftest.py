"""Fixtures of the teaching tests."""

import pytest

from helpers import small_synthetic_setup


@pytest.fixture(scope="session")
def small_setup():
    """A one-face synthetic setup with a rough inverter (100 training faces): enough to draw every panel."""
    return small_synthetic_setup(1, n_train=100)
