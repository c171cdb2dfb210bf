"""paperlib: the reproducible companion to Diff-CAM++.

Diff-CAM++ (Gu & Gromov, 2025) improves the differential-activation mask of EOGI
(Song et al., ECCV 2022) with Grad-CAM++, test-time augmentation, Eigen smoothing and
face-parsing masks. The package is layered; each layer imports only from those below it
(``tests/test_imports.py``):

- :mod:`paperlib.cli`        - the command line (``python -m paperlib``): parses, then calls a module below
- :mod:`paperlib.evaluation` - Tables 1-3, the CAM leaderboard, metrics, ``reproduce --check``
- :mod:`paperlib.photo`      - your own photo: reading, FFHQ alignment, edit and paste back
- :mod:`paperlib.teaching`   - what the notebooks call, Figures 2-4, the walkthrough and explorer, ``reproduce``
- :mod:`paperlib.profiles`   - what is plugged into the one pipeline: ``synthetic`` or ``paper``
- :mod:`paperlib.synth`      - SynthFace, the CPU world with ground truth
- :mod:`paperlib.method`     - **the paper**: eq 4-5 (diffnet), eq 6-9 (cam), eq 10-11 (masks), the pipeline
- :mod:`paperlib.infra`      - paths, provenance, locks, atomic files, the weights registry and downloads, torchrun
- :mod:`paperlib.models`     - the official networks (StyleGAN2, pSp, e4e, ReStyle, BiSeNet, deghosting)
- :mod:`paperlib.checks`     - the argument validators every layer shares (one-line errors)
"""

__version__ = "0.1.0"
