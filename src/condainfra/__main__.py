from condainfra.cli.entry import entry

entry()
