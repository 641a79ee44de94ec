"""How results are shown: rich tables, PDF, HTML."""
