"""Pulumi ComponentResources, one module per resource family, built from the compiled stack."""
