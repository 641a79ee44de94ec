"""The operations CLI: `python cli/main.py ...`, one module per command group."""
