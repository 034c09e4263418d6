from condainfra.cli.main import entry

entry()
