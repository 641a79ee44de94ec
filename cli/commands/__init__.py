"""The CLI's command groups: thin typer modules (options, output, exit code), one per group."""
