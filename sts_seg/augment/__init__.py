"""Augmentation: pure numpy ops applied to image and mask together."""
