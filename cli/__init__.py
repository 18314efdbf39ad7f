"""khronika.cli"""
