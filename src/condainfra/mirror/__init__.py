"""The mirror mission: conda channels copied into OCI registries, and served back to any conda client."""
