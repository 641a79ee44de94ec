"""Runtime code of the cost reporting platform, shipped to Lambda as one code asset."""
