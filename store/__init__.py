"""khronika.store"""
