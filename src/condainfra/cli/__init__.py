"""The thin command-line layer over the core."""
