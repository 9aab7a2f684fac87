"""Public checks of dense_param_count: weights plus biases of a fully connected layer."""

import pytest
from mlp_cases import count_hint

from autograder.checks import assert_equal

pytestmark = pytest.mark.question("param_count")


@pytest.mark.points(3)
def test_dense_param_count_course_example(student):
    got = student.dense_param_count((500, 500), 1)
    assert_equal(got, 250_001, call="dense_param_count((500, 500), 1)",
                 hint=count_hint(got, (500, 500), 1))


@pytest.mark.points(2)
def test_dense_param_count_vector_input(student):
    got = student.dense_param_count((784,), 10)
    assert_equal(got, 7_850, call="dense_param_count((784,), 10)",
                 hint=count_hint(got, (784,), 10))
