"""The bench tests use the tuner tests' tiny search space, small table and one-thread setting."""

from tests.tuner.conftest import _one_torch_thread, small_csv, tiny_space

__all__ = ["_one_torch_thread", "small_csv", "tiny_space"]
