"""Each review's document (what `--format json` prints): the platform's state read through
cli/readers and cli/probes, computed by cli/reviews. No typer, no rich: the commands show it."""
