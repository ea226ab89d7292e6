"""Catalogue: courses, batches, modules and their entities."""
