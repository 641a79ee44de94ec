"""The pure logic of the reviews (KPIs, capacity, cost, audit, billing): no typer, no rich, no boto3."""
