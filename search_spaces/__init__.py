"""Declarative search spaces for tuning causal augmentation and fine-tuning."""

from search_spaces._errors import SearchSpaceError

__all__ = ["SearchSpaceError"]
