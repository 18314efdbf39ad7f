"""khronika.domain"""
