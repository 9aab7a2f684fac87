"""Public checks: parameters of a convolution layer (the slides' 760) and of VGG16."""

from __future__ import annotations

import pytest
from cnn_cases import size_hint

from autograder.checks import assert_equal, describe_call

pytestmark = pytest.mark.question("param_counts")


@pytest.mark.points(2)
def test_conv_param_count_slides(student):
    got = student.conv_param_count(5, 3, 10)
    hint = size_hint(got, {
        "Each filter also has a bias: (F·F·D_in + 1)·K.": 750,
        "Each 5×5 filter spans the whole input depth D_in = 3: (F·F·D_in + 1)·K.": 260,
    }, "A filter has F·F·D_in weights and one bias; there are K filters: (F·F·D_in + 1)·K.")
    assert_equal(got, 760, call=describe_call("conv_param_count", (5, 3, 10), {}), hint=hint)


@pytest.mark.points(2)
def test_vgg16_param_count_imagenet(student):
    got = student.vgg16_param_count()
    hint = size_hint(got, {
        "Every convolution and fully connected layer has biases too.": 138_344_128,
        "The first fully connected layer sees 7·7·512 = 25088 inputs: five 2×2 poolings "
        "turn 224×224 into 7×7.": 37_694_248,
    }, "Add up (3·3·D_in + 1)·K for the 13 convolutions and (fan_in + 1)·fan_out for the "
       "3 fully connected layers; pooling has no parameters.")
    assert_equal(got, 138_357_544, call="vgg16_param_count()", hint=hint)
