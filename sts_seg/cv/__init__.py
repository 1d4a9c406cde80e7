"""``stsseg cv``: patient-level cross-validation in one command, as nnU-Net does it, plus what a
tiny cohort needs (a bootstrap CI and a paired test against the baseline).

``<run>/folds.json`` is written (or read, as a user may have edited it) before anything trains;
each fold runs prepare -> augment -> train -> predict in ``<run>/fold_<k>/`` (:mod:`.fold`), one
after another in-process or as Ray tasks (:mod:`.parallel`); finished folds are skipped on rerun.
``<run>/cv/`` then holds the out-of-fold report and the post-processing decision (:mod:`.report`).
A finished cv folder is a model (:mod:`sts_seg.modelsource`, below every stage): ``infer --model
<run>`` averages its folds.
The entry point is :func:`sts_seg.cv.run.cross_validate`; this package imports nothing heavy.
"""
