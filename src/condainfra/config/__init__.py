"""Configuration: pydantic models and the loaders that read them from ``stacks/``.

Import what you need from its module (``config.loader``, ``config.models``, ...): importing the
package alone loads nothing, so that a command that needs one model does not load them all."""
