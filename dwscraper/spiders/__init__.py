"""Spiders: discovery and fetching only."""
