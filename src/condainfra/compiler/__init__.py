"""The pure desired-state compiler: configuration in, a list of resources out."""

from .resources import Resource, StackBuilder
from .stacks import StackSpec

__all__ = ["Resource", "StackBuilder", "StackSpec"]
