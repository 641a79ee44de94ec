"""The platform's tables as the CLI reads them: through the lambdas/dal adapters only."""
