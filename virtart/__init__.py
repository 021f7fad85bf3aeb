"""VirtArt: repaint chosen regions of a photo in the style of a painting.

The library reads bottom-up as: ``errors``/``settings`` -> ``imageio``/``masks``
(pixels and regions) -> ``hub``/``checkpoints``/``styles`` (what we load, verified;
``warmup`` fetches the app's models in the background) -> ``models``
(networks) -> ``engines`` (style transfer as preview generators) and
``segmentation`` (choosing regions) -> ``pipeline`` (what the CLI and the app call).
"""

from virtart.errors import VirtArtError, VirtArtWarning

__version__ = "0.1.0"
__all__ = ["VirtArtError", "VirtArtWarning", "__version__"]
