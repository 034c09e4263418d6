"""Throwaway real services for the tests and the benchmarks (which never import tests/)."""
