"""Pure-numpy building blocks shared by every stage; no file I/O and no config objects.

``geometry`` (native slice <-> model canvas), ``intensity`` (HU/SUV -> image channels),
``slicing`` (a case's volumes -> model inputs and outputs back to the native grid), ``split``
(patient-level splits), ``restack`` (slices -> volumes), ``components`` (connected components),
``postprocess`` (3D clean-up), ``rgb`` (RGB mask colours <-> labels), ``pictures`` (overlays).
"""
