"""The maintainers dashboard: a Quetz plugin.

Everything that touches Quetz's own modules goes through :mod:`.quetz_adapter`; the rest
(sources, attention queue, views, pages) is plain Python that a later Quetz or a fork
does not affect.
"""
