"""Frozen data objects passed between stages. Nothing heavy is imported here."""
