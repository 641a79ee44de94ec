"""The changes commands make in several steps: registration, key rotation, backups, the audit trail."""
