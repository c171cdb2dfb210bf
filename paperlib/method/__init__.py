"""The method of the paper, and nothing else: one function per equation.

=====  ==================================================  =========================================
eq     function                                            what
=====  ==================================================  =========================================
4      :func:`paperlib.method.diffnet.differential_features`  ``E(T) - E(I')``, the differential features
5      :meth:`paperlib.method.diffnet.DiffNet.forward`      the differential classifier's score
6      :func:`paperlib.method.cam.gradcam_plus_plus_alpha`  Grad-CAM++'s pixel weights
7      :func:`paperlib.method.cam.gradcam_plus_plus_weights`  channel weights
8      :func:`paperlib.method.cam.cam_map`                  the class activation map
9      :func:`paperlib.method.cam.first_component_projection`  Eigen smoothing
10     :func:`paperlib.method.masks.fuse_masks`             CAM and face-parsing masks fused
11     :func:`paperlib.method.masks.blend`                  the output ``F`` blended from ``T`` and ``I``
=====  ==================================================  =========================================

Modules: ``attributes`` (the 7 attributes, classifier indices), ``diffnet``, ``cam``, ``masks``,
``pipeline`` (invert -> edit -> CAM -> fuse -> blend -> deghost on plugged-in
:class:`~paperlib.method.pipeline.Components`), ``authors`` (the authors' released code's
variants), ``train`` (the differential classifier's training loop), ``names`` (the architectures and
the authors'-code method's name, without torch, for the command line).
"""
