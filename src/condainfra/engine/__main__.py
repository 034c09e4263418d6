# Entry point the Pulumi language host runs (Pulumi.yaml `main: src/condainfra/engine/`).
from condainfra.engine.program import run

run()
