"""Public checks of softmax and cross_entropy, compared with torch.softmax and F.cross_entropy."""

import numpy as np
import pytest
from mlp_cases import CE_SUM_HINT, torch_ce, torch_softmax

from autograder.checks import assert_allclose

pytestmark = pytest.mark.question("softmax_cross_entropy")

STABLE_HINT = ("exp overflows for large logits: subtract the maximum along the axis first "
               "(softmax(s) = softmax(s - max(s))).")
@pytest.mark.points(2)
def test_softmax_rows(student):
    logits = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])
    got = student.softmax(logits)
    assert_allclose(got, torch_softmax(logits, -1), call="softmax(logits (2, 3))",
                    mistakes={"with the default axis=-1 each ROW must sum to 1; this looks like a "
                              "softmax over axis 0.": torch_softmax(logits, 0)},
                    hint="softmax(s)_i = exp(s_i) / sum_j exp(s_j) along the given axis.")


@pytest.mark.points(2)
def test_softmax_large_logits(student):
    logits = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1000.0, -999.0]])
    got = student.softmax(logits)
    assert_allclose(got, torch_softmax(logits, -1), call="softmax(logits around ±1000)",
                    hint=STABLE_HINT)


@pytest.mark.points(2)
def test_cross_entropy_small(student):
    logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3], [-1.0, 0.0, 1.0], [0.2, 0.2, 0.2]])
    labels = np.array([0, 1, 2, 1])
    expected = torch_ce(logits, labels)
    got = student.cross_entropy(logits, labels)
    assert_allclose(got, expected, call="cross_entropy(logits (4, 3), labels [0, 1, 2, 1])",
                    mistakes={CE_SUM_HINT: expected * len(labels),
                              "the loss is -log of the probability of the true class "
                              "(a positive number): check the sign.": -expected},
                    hint="the loss of sample n is -log softmax(logits[n])[labels[n]]; "
                         "return the mean over the batch.")
