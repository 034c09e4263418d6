"""Importers: configuration written elsewhere, in other formats, turned into condainfra's config."""
