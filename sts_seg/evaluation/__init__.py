"""``stsseg evaluate``: per-image 2D and per-patient 3D tumour metrics, next to a PET baseline."""
