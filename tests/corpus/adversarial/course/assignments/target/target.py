"""Attack target: two small functions."""


def add(a, b):
    """Return ``a + b`` elementwise, an array of their broadcast shape."""
    raise NotImplementedError("add")


def double(x):
    """Return ``2 * x`` as an array of ``x``'s shape."""
    raise NotImplementedError("double")
