"""Shared fixtures: a toy world of 2 layers x 8 logical experts on 4 ranks x 3 slots (12 slots)."""

import numpy as np
import pytest


@pytest.fixture
def toy_loads() -> np.ndarray:
    """[2, 8] token counts: layer 0 skewed towards experts 0 and 1, layer 1 nearly flat."""
    return np.array(
        [
            [900.0, 500.0, 120.0, 80.0, 60.0, 40.0, 30.0, 20.0],
            [110.0, 100.0, 105.0, 95.0, 90.0, 100.0, 98.0, 102.0],
        ]
    )


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
