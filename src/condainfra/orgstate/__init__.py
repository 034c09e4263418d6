"""The org as GitHub holds it, against what the config declares: one bulk read per org and run
(``importers.github_reader``), compared with the compiled stacks (``compare``), for `drift`,
`adopt` (every import ID checked to exist) and authoritative mode (``enforce``: what GitHub holds
and the config lacks, reported and removed within the safety rails)."""
