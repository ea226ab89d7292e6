"""Bulk import of records from CSV and JSON Lines files, and of the OULAD data set."""
