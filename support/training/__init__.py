"""Part III of the book, first half: numerical stability and mixed-precision training.

Modules are added here as chapters 12–14 need them.
"""
