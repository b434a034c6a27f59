"""Part III of the book, second half: hardware rooflines, quantized serving, the practical guide.

Modules are added here as chapters 15–17 need them.
"""
