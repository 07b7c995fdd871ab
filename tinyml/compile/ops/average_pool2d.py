"""AVERAGE_POOL_2D."""

from tinyml.compile.ops.pool import lower_pool


def lower(model, op):
    return lower_pool(model, op, "tm_average_pool2d_s8")
