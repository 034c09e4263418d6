"""Configuration: pydantic models and the loaders that read them from ``stacks/``."""

from .loader import OrgDeclaration, load_orgs
from .models import OrgConfig

__all__ = ["OrgConfig", "OrgDeclaration", "load_orgs"]
