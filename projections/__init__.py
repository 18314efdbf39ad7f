"""khronika.projections"""
