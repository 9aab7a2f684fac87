"""Hidden checks: conv_param_count against torch.nn.Conv2d, vgg16_param_count against a VGG16 built in torch."""

from __future__ import annotations

import numpy as np
import pytest
from torch import nn

from autograder.checks import assert_equal, describe_call, reference

pytestmark = pytest.mark.question("param_counts")

#: VGG16 (configuration D): 3×3 convolutions with padding 1; "M" is a 2×2 max pool.
VGG16_LAYERS = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
                512, 512, 512, "M", 512, 512, 512, "M")


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def torch_vgg16(num_classes: int) -> nn.Module:
    """VGG16 built from torch.nn layers on the meta device (shapes only, no memory)."""
    layers: list[nn.Module] = []
    d_in = 3
    for v in VGG16_LAYERS:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(d_in, int(v), 3, padding=1, device="meta"), nn.ReLU()]
            d_in = int(v)
    return nn.Sequential(
        *layers, nn.Flatten(),
        nn.Linear(512 * 7 * 7, 4096, device="meta"), nn.ReLU(),
        nn.Linear(4096, 4096, device="meta"), nn.ReLU(),
        nn.Linear(4096, num_classes, device="meta"),
    )


@reference
def vgg16_counts(num_classes: int) -> tuple[int, int]:
    """(parameters, weights without the biases) of :func:`torch_vgg16`."""
    model = torch_vgg16(num_classes)
    weights = sum(p.numel() for name, p in model.named_parameters() if name.endswith("weight"))
    return n_params(model), weights


@reference
def conv_count(d_in: int, k: int, f, groups: int, bias: bool) -> int:
    """Parameters of ``nn.Conv2d(d_in, k, f, groups=groups, bias=bias)``."""
    return n_params(nn.Conv2d(d_in, k, f, groups=groups, bias=bias, device="meta"))


def vgg_hint(got: object, without_bias: int) -> str:
    if isinstance(got, (int, np.integer)) and int(got) == without_bias:
        return "Every convolution and fully connected layer has biases too."
    return ("Add up (3·3·D_in + 1)·K for the 13 convolutions and (fan_in + 1)·fan_out for the "
            "3 fully connected layers (the last one has num_classes outputs).")


def conv_hint(got: object, f, d_in: int, k: int, bias: bool, groups: int) -> str:
    fh, fw = (f, f) if isinstance(f, int) else f
    if isinstance(got, (int, np.integer)) and not isinstance(got, bool):
        if groups > 1 and int(got) == (fh * fw * d_in + bias) * k:
            return "With groups = g each filter sees only D_in / g input channels."
        if not bias and int(got) == (fh * fw * d_in // groups + 1) * k:
            return "With bias=False there are no biases: F·F·D_in/g weights per filter only."
        if fh != fw and int(got) in ((fh * fh * d_in // groups + bias) * k,
                                     (fw * fw * d_in // groups + bias) * k):
            return "A pair f = (FH, FW) means an FH×FW filter: FH·FW weights per input channel."
    return "A layer has K filters of F·F·D_in/g weights and, with bias=True, one bias each."


@pytest.mark.points(2)
def test_conv_param_count_rectangular_and_groups(student, rng):
    groups = int(rng.integers(2, 5))
    cases = [
        ((int(rng.integers(1, 4)), int(rng.integers(4, 8))), int(rng.integers(1, 65)),
         int(rng.integers(1, 65)), True, 1),
        (int(rng.choice([1, 3, 5, 7])), groups * int(rng.integers(1, 9)),
         groups * int(rng.integers(1, 9)), True, groups),
    ]
    for f, d_in, k, bias, g in cases:
        kwargs = {"groups": g} if g > 1 else {}
        got = student.conv_param_count(f, d_in, k, **kwargs)
        expected = conv_count(d_in, k, f, g, bias)
        assert_equal(got, expected, call=describe_call("conv_param_count", (f, d_in, k), kwargs),
                     hint=conv_hint(got, f, d_in, k, bias, g))


@pytest.mark.points(1)
def test_conv_param_count_without_bias(student, rng):
    f, d_in, k = int(rng.integers(1, 8)), int(rng.integers(1, 129)), int(rng.integers(1, 129))
    got = student.conv_param_count(f, d_in, k, bias=False)
    expected = conv_count(d_in, k, f, 1, False)
    assert_equal(got, expected, call=describe_call("conv_param_count", (f, d_in, k), {"bias": False}),
                 hint=conv_hint(got, f, d_in, k, False, 1))


@pytest.mark.points(1)
def test_vgg16_param_count_matches_torch_model(student):
    expected, weights = vgg16_counts(1000)  # 138,357,544
    got = student.vgg16_param_count(1000)
    assert_equal(got, expected, call="vgg16_param_count(1000)", hint=vgg_hint(got, weights))


@pytest.mark.points(2)
def test_vgg16_param_count_other_num_classes(student, rng):
    num_classes = int(rng.integers(2, 5000))
    expected, weights = vgg16_counts(num_classes)
    got = student.vgg16_param_count(num_classes)
    assert_equal(got, expected, call=f"vgg16_param_count({num_classes})",
                 hint=vgg_hint(got, weights))
