"""The stack's building blocks, one concern each; the stack composes them and wires the grants."""
