"""paperlib: the reproducible companion to Diff-CAM++.

Diff-CAM++ (Gu & Gromov, 2025) improves the differential-activation mask of EOGI
(Song et al., ECCV 2022) with Grad-CAM++, test-time augmentation, Eigen smoothing and
face-parsing masks. The package is organised as the method reads:

- :mod:`paperlib.method.attributes` - the 7 attributes, their classifier indices and component sets
- :mod:`paperlib.method.diffnet`    - the differential network (eq 4-5), EOGI's parameter names
- :mod:`paperlib.method.cam`        - Grad-CAM / Grad-CAM++ (eq 6-8), TTA and Eigen smoothing (eq 9)
- :mod:`paperlib.method.masks`      - parsing labels, eq 10 (fusion) and eq 11 (blend)
- :mod:`paperlib.method.pipeline`   - invert -> edit -> CAM -> fuse -> blend -> deghost on plugged-in components

Around it, from the command line down (imports run one way):
:mod:`paperlib.cli` -> :mod:`paperlib.teaching.reproduce`, :mod:`paperlib.teaching.notebook`, figures ->
:mod:`paperlib.evaluation.evaluate` (the loop; :mod:`~paperlib.evaluation.cache`, :mod:`~paperlib.evaluation.tables`,
:mod:`~paperlib.infra.provenance`, :mod:`~paperlib.infra.locks`) -> :mod:`paperlib.profiles` (``synthetic``,
``paper``: what is plugged in) -> :mod:`paperlib.method.train` and the core above;
:mod:`paperlib.infra.download` -> :mod:`paperlib.models` (networks), :mod:`paperlib.infra.assets` (registry).
"""

__version__ = "0.1.0"
