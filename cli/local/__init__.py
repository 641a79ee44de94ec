"""The local environment's own tools, on the embedded AWS (emulator/): with the `local` and `demo`
command modules, the only part of the CLI that imports emulator/. Never used against a deployment."""
