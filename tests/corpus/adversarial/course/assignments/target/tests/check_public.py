"""Public checks of the attack target: random cases drawn from the grading seed."""

import pytest

from autograder.checks import assert_allclose


@pytest.mark.question("add")
@pytest.mark.points(1)
def test_add_public(student, rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    assert_allclose(student.add(a, b), a + b, call="add(a, b)")


@pytest.mark.question("double")
@pytest.mark.points(1)
def test_double_public(student, rng):
    x = rng.standard_normal((2, 5))
    assert_allclose(student.double(x), 2 * x, call="double(x)")
