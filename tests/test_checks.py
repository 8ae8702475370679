"""The shared argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from droprune._checks import check_int, check_number


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


def test_as_selection_keeps_valid_indices_in_their_order():
    from droprune._checks import as_selection

    out = as_selection([4, 0, 2], 5)
    np.testing.assert_array_equal(out, [4, 0, 2])
    assert out.dtype == np.int64
    np.testing.assert_array_equal(as_selection(np.array([1.0, 3.0]), 4), [1, 3])  # integral floats
    assert as_selection([], 0).size == 0
    assert as_selection(np.arange(3, dtype=np.uint8), 3).size == 3


@pytest.mark.parametrize("selected, message", [
    ([0, 2, 0], "selected holds the repeated index 0: a selection keeps each sample at most once"),
    ([0, 5], r"selected holds index 5 but there are 5 samples: indices must be in \[0, 5\)"),
    ([-1, 2], r"selected holds index -1 but there are 5 samples"),
    ([0.5, 1], "selected must hold integers, got the non-integer value 0.5"),
    ([np.nan], "selected contains NaN"),
    ([[0, 1], [2, 3]], r"selected must be one-dimensional, got shape \(2, 2\)"),
    ([True, False, True, False, True], r"got booleans: pass np.flatnonzero\(mask\)"),
    (["0", "1"], "selected must hold integers, got dtype <U1"),
])
def test_as_selection_errors(selected, message):
    from droprune._checks import as_selection

    with pytest.raises(ValueError, match=message):
        as_selection(selected, 5)
    with pytest.raises(ValueError, match=message.replace("selected", "kept")):
        as_selection(selected, 5, name="kept")
def test_check_number_accepts_python_and_numpy_numbers_and_returns_python_ones():
    assert check_number(0.25, "x") == 0.25
    assert check_number(3, "x", minimum=3) == 3 and type(check_number(3, "x")) is int
    assert type(check_number(np.float64(0.5), "x")) is float
    assert check_number(np.float32(0.5), "x", maximum=0.5) == 0.5
    assert type(check_number(np.int64(2), "x", minimum=0, open_min=True)) is int


@pytest.mark.parametrize("value, kwargs, message", [
    (0, dict(minimum=0, open_min=True), "x must be a finite number > 0, got 0"),
    (-1e-9, dict(minimum=0), "x must be a finite number >= 0, got -1e-09"),
    (2, dict(maximum=1), "x must be a finite number <= 1, got 2"),
    (1.0, dict(maximum=1, open_max=True), "x must be a finite number < 1, got 1.0"),
    (1.0, dict(minimum=0, maximum=1, open_max=True),
     "x must be a finite number in [0, 1), got 1.0"),
    (0, dict(minimum=0, maximum=1, open_min=True), "x must be a finite number in (0, 1], got 0"),
    (float("nan"), {}, "x must be a finite number, got nan"),
    (float("-inf"), {}, "x must be a finite number, got -inf"),
    (10 ** 400, {}, "x must be a finite number, got 1"),
    (True, {}, "x must be a finite number, got True"),
    (np.bool_(False), {}, "x must be a finite number, got "),
    ("1", {}, "x must be a finite number, got '1'"),
    (None, {}, "x must be a finite number, got None"),
    (np.array([1.0]), {}, "x must be a finite number, got array"),
])
def test_check_number_errors(value, kwargs, message):
    with pytest.raises(ValueError) as err:
        check_number(value, "x", **kwargs)
    assert str(err.value).startswith(message)
