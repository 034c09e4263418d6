"""Whether the ``dashboard`` extra is installed; importing this module never imports Quetz."""

from __future__ import annotations

from ..errors import CondainfraError


def require_quetz() -> None:
    try:
        import quetz  # noqa: F401
    except ImportError:
        raise CondainfraError("the dashboard needs Quetz: pip install 'condainfra[dashboard]'") from None
