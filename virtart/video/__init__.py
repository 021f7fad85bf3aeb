"""Region-specific style transfer on video: regions chosen on one frame follow their objects.

Modules, bottom-up: :mod:`~virtart.video.io` (decode/encode with PyAV), :mod:`~virtart.video.flow`
(optical flow, warping, occlusion), :mod:`~virtart.video.tracking` (masks carried frame to frame),
:mod:`~virtart.video.temporal` (flicker-free painting), :mod:`~virtart.video.pipeline`
(the ``stylize_video`` generator).
"""
