"""Deals and their stages."""
