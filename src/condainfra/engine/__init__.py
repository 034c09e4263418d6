"""The engine path: the Pulumi program and the Automation API that runs it."""
