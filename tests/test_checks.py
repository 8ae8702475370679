"""The shared argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from droprune._checks import check_density, check_int, check_number


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


@pytest.mark.parametrize("value, kwargs, expected", [
    (np.int64(3), {"integer": True}, 3),
    (np.int8(-2), {}, -2.0),
    (np.float32(0.5), {"minimum": 0, "maximum": 1}, 0.5),
    (7, {}, 7.0),
    (float("inf"), {"allow_inf": True, "minimum": 1}, float("inf")),
    (1, {"minimum": 1}, 1.0),
])
def test_check_number_accepts_python_and_numpy_numbers(value, kwargs, expected):
    out = check_number(value, "x", **kwargs)
    assert out == expected and type(out) is (int if kwargs.get("integer") else float)


@pytest.mark.parametrize("value, kwargs, message", [
    (True, {}, "x must be a number, got True"),
    (np.bool_(False), {"integer": True}, "x must be an integer, got "),
    (float("nan"), {"minimum": 0}, "x must be a number >= 0, got nan"),
    (np.float64("nan"), {}, "x must be a number, got "),
    (float("inf"), {}, "x must be a finite number, got inf"),
    (-float("inf"), {"allow_inf": True, "minimum": 0}, "x must be >= 0, got -inf"),
    ("3", {}, "x must be a number, got '3'"),
    (2.0, {"integer": True, "minimum": 1}, "x must be an integer >= 1, got 2.0"),
    (0, {"minimum": 0, "min_inclusive": False}, "x must be > 0, got 0"),
    (1, {"maximum": 1, "max_inclusive": False}, "x must be < 1, got 1"),
    (1.5, {"minimum": 0, "maximum": 1, "max_inclusive": False}, r"x must be in [0, 1), got 1.5"),
    (0.5, {"minimum": 1, "hint": "largest / smallest"},
     "x must be >= 1 (largest / smallest), got 0.5"),
    ("a", {"minimum": 1, "hint": "largest / smallest"},
     "x must be a number >= 1 (largest / smallest), got 'a'"),
    (0, {"minimum": 1, "requirement": "a positive count"}, "x must be a positive count, got 0"),
])
def test_check_number_errors(value, kwargs, message):
    with pytest.raises(ValueError) as err:
        check_number(value, "x", **kwargs)
    assert str(err.value).startswith(message)


def test_check_density_positive():
    assert check_density(np.float32(1.0), positive=True) == 1.0
    assert check_density(0) == 0.0
    with pytest.raises(ValueError, match=r"density must be in \(0, 1\] \(the fraction KEPT; "
                                         r"nothing is left to train on at 0\), got 0"):
        check_density(0, positive=True)
    with pytest.raises(ValueError, match="a number in"):
        check_density("0.5")
    with pytest.raises(ValueError, match="not a percentage"):
        check_density(np.int64(50))
