"""From HDF5 volumes to 2D slices: intensity windows, geometry, patient split, manifest."""
