"""File I/O at the edges: HDF5 volumes, PNG images/masks, manifests, atomic outputs."""
