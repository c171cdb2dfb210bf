"""Fixtures of the teaching tests."""

import pytest
import torch

from paperlib.method.diffnet import DiffNet


@pytest.fixture(scope="session")
def small_setup():
    """A one-face synthetic setup at 64² with a random-init classifier: enough to draw every panel."""
    from paperlib.profiles.synthetic import setup as synthetic_setup
    from paperlib.synth import SynthInverter, SynthWorld

    torch.manual_seed(0)  # a rough inverter (100 training faces) is enough to draw every panel
    return synthetic_setup(1, size=64, classifier=DiffNet(7, "resnet18").eval(),
                           inverter=SynthInverter(SynthWorld(64), n_train=100), progress=False)
