"""condainfra: infrastructure as code for conda-forge and bioconda."""

__version__ = "0.1.0"
