"""The shared argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from droprune._checks import check_int


def test_check_int_accepts_python_and_numpy_integers():
    assert check_int(np.int32(4), "k", maximum=4) == 4
    assert isinstance(check_int(np.int64(0), "k"), int)


@pytest.mark.parametrize("value, kwargs, message", [
    (True, {}, "k must be an integer >= 0, got True"),
    (1.0, {}, "k must be an integer >= 0, got 1.0"),
    (-1, {}, "k must be an integer >= 0, got -1"),
    (5, {"maximum": 4}, r"k must be an integer in \[0, 4\], got 5"),
    (0, {"minimum": 1, "requirement": "a positive integer"}, "k must be a positive integer"),
])
def test_check_int_errors(value, kwargs, message):
    with pytest.raises(ValueError, match=message):
        check_int(value, "k", **kwargs)
