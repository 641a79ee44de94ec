"""`make bench`: the platform end to end on the embedded AWS at 10, 100 and 1,000 clients."""
