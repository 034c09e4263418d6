"""The shape every condainfra component shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi

if TYPE_CHECKING:
    from ..compiler.resources import Resource
    from .factory import BuildContext


@dataclass
class ComponentArgs:
    spec: Resource
    context: BuildContext


class CompiledComponent(pulumi.ComponentResource):
    """A component whose children are its compiled spec's children, each created with parent=self."""

    TYPE = ""
    Args = ComponentArgs

    def __init__(self, name: str, args: ComponentArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE, name, None, opts)
        self.children = args.context.build_children(self, args.spec)
        self.register_outputs(self.outputs())

    def outputs(self) -> dict:
        return {"resources": len(self.children)}

    def descendants(self) -> list:
        """Every resource below this one, through nested components: outputs name resources,
        not where a compiler happened to nest them."""
        found = []
        for child in self.children:
            found.append(child)
            if isinstance(child, CompiledComponent):
                found += child.descendants()
        return found

    def first_of(self, cls):
        return next((c for c in self.descendants() if isinstance(c, cls)), None)
