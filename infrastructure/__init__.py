"""The platform as CDK constructs; config.py is plain Python shared with the CLI."""
