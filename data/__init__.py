"""Datasets bundled with khronika (read with importlib.resources)."""
