"""The Gradio app's logic, kept apart from its layout (``app.py``).

* :mod:`virtart.ui.state`: per-session dataclasses (photo, clicks, regions, result);
* :mod:`virtart.ui.limits`: queue sizes, concurrency groups, upload and pixel limits;
* :mod:`virtart.ui.gpu`: the ZeroGPU decorator (a no-op where ``spaces`` is absent);
* :mod:`virtart.ui.messages`: turns :class:`~virtart.errors.VirtArtError` into toasts;
* :mod:`virtart.ui.render`: overlays, thumbnails, gallery items, loss plots;
* :mod:`virtart.ui.photo_handlers`, :mod:`virtart.ui.region_handlers`,
  :mod:`virtart.ui.stylize_handlers`: typed event handlers, testable without a browser;
* :mod:`virtart.ui.runner`: the stylization path the page and the API share (ZeroGPU slot,
  engine closed on Stop/cancel, bounded folder of result PNGs);
* :mod:`virtart.ui.api`: the public endpoints for ``gradio_client`` (/segment, /detect,
  /stylize, /styles);
* :mod:`virtart.ui.components`: the photo component that hands uploads over undecoded;
* :mod:`virtart.ui.tempfiles`: sweeps Gradio's empty upload leftovers (temp folder bound);
* :mod:`virtart.ui.examples`: writes the example photos into the cache at startup.

No model code lives here: everything goes through :mod:`virtart.pipeline`,
:mod:`virtart.segmentation` and :mod:`virtart.masks`.
"""
