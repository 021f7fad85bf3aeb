"""Reading photos, paintings and masks safely; writing PNGs atomically.

Arrays follow one convention throughout the library:

* a photo is ``uint8`` of shape ``(H, W, 3)``, RGB, row 0 at the top;
* a mask is ``float32`` of shape ``(H, W)`` in ``[0, 1]``, 1 = inside the region;
* pixel coordinates are ``(x, y)`` with x to the right and y down, in the original photo.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from virtart import settings
from virtart.errors import VirtArtError, warn

ImageSource = str | os.PathLike | bytes | Image.Image | np.ndarray

# load_photo enforces its own (configurable) limit before decoding. Pillow's guard stays on, at the
# same limit, for every other Pillow user in the process: Gradio decodes some uploads before the app
# sees them, and without it a 300-byte PNG claiming 50000x50000 pixels costs gigabytes (issue 6).
Image.MAX_IMAGE_PIXELS = settings.max_pixels()
# For whoever runs the server or the CLI, never shown to a visitor (VirtArtError.detail).
MAX_PIXELS_HINT = "the limit is VIRTART_MAX_PIXELS, for the app also VIRTART_APP_MAX_PIXELS"


def _megapixels(pixels: float) -> str:
    return f"{pixels / 1e6:.0f}" if pixels >= 10e6 else f"{pixels / 1e6:.2g}"


@dataclass
class Photo:
    """A decoded photo: ``rgb`` is ``(H, W, 3) uint8``; ``alpha`` is ``(H, W) uint8`` or None."""

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    name: str = "image"

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return self.rgb.shape[1], self.rgb.shape[0]


def _describe(source: ImageSource) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fsdecode(source)
    return "the image"


def _open(source: ImageSource, label: str, max_bytes: int) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise VirtArtError(f"{label}: no such file")
        size = path.stat().st_size
        if size == 0:
            raise VirtArtError(f"{label}: the file is empty (0 bytes)")
        if size > max_bytes:
            raise VirtArtError(f"{label}: the file is {size / 2**20:.1f} MB, over the {max_bytes / 2**20:.0f} MB limit")
        data = path.read_bytes()
    else:
        data = bytes(source)
        if not data:
            raise VirtArtError(f"{label}: the file is empty (0 bytes)")
        if len(data) > max_bytes:
            raise VirtArtError(f"{label}: the file is over the {max_bytes / 2**20:.0f} MB limit")
    try:
        return Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:  # over twice Pillow's limit: refused before its size is known to us
        raise VirtArtError(f"{label} has more than {_megapixels(2 * Image.MAX_IMAGE_PIXELS)} megapixels, over the "
                           "limit this server takes; make it smaller and try again", detail=MAX_PIXELS_HINT) from None
    except (UnidentifiedImageError, ImportError):  # ImportError: ultralytics' Image.open patch wants pi-heif
        raise VirtArtError(f"{label}: not an image that can be read (PNG, JPEG, WebP, TIFF, BMP, GIF...)") from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure is the file's fault
        raise VirtArtError(f"{label}: cannot read the image ({exc})") from None


def _check_pixels(image: Image.Image, label: str, max_pixels: int) -> None:
    width, height = image.size
    if width <= 0 or height <= 0:
        raise VirtArtError(f"{label}: the image has zero size ({width}x{height})")
    if width * height > max_pixels:
        raise VirtArtError(
            f"{label} is {width}x{height}: {_megapixels(width * height)} megapixels, over the limit of "
            f"{_megapixels(max_pixels)} megapixels this server takes; make it smaller and try again",
            detail=MAX_PIXELS_HINT)


def _to_8bit_rgb(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Convert any Pillow mode to ``(rgb uint8, alpha uint8 | None)`` without clipping 16-bit data."""
    icc = image.info.get("icc_profile")
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        values = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        grey = np.clip(np.round(values * (255.0 / peak)), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2), None
    if image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        peak = 1.0 if values.max() <= 1.0 else 255.0
        grey = np.clip(np.round(values * (255.0 / peak)), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2), None
    alpha = None
    if image.mode == "P" and "transparency" in image.info or image.mode in ("PA", "LA", "RGBA", "La", "RGBa"):
        image = image.convert("RGBA")
        alpha = np.asarray(image.getchannel("A")).copy()
        if alpha.min() == 255:
            alpha = None
    if image.mode == "CMYK" and icc:
        try:
            source_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            image = ImageCms.profileToProfile(image, source_profile, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except Exception:  # noqa: BLE001 - a broken profile falls back to the plain conversion
            image = image.convert("RGB")
    rgb = np.asarray(image.convert("RGB")).copy()
    return rgb, alpha


def load_photo(
    source: ImageSource,
    *,
    label: str | None = None,
    max_pixels: int | None = None,
    max_bytes: int | None = None,
) -> Photo:
    """Decode a photo from a path, bytes, a PIL image or an array into a :class:`Photo`.

    Respects EXIF orientation, converts CMYK/16-bit/palette/greyscale to 8-bit RGB, keeps
    transparency as a separate alpha plane, takes the first frame of animations (with a
    warning) and refuses empty, truncated, non-image and over-limit files with a
    :class:`VirtArtError`.
    """
    label = label or _describe(source)
    max_pixels = settings.max_pixels() if max_pixels is None else max_pixels
    max_bytes = settings.max_file_bytes() if max_bytes is None else max_bytes
    name = Path(os.fsdecode(source)).stem if isinstance(source, (str, os.PathLike)) else "image"
    if isinstance(source, np.ndarray):
        return Photo(_array_to_rgb(source, label), None, name)
    image = _open(source, label, max_bytes)
    _check_pixels(image, label, max_pixels)
    try:
        if getattr(image, "n_frames", 1) > 1:  # counting frames walks the file: it can hit corrupt data
            warn(f"{label}: animated image, using its first frame")
            image.seek(0)
        image.load()
        image = ImageOps.exif_transpose(image) or image
    except VirtArtError:
        raise
    except Exception as exc:  # noqa: BLE001 - truncated or corrupt data
        raise VirtArtError(f"{label}: the image data is truncated or corrupt ({exc})") from None
    _check_pixels(image, label, max_pixels)
    rgb, alpha = _to_8bit_rgb(image)
    return Photo(rgb, alpha, name)


def load_image(source: ImageSource, **kwargs) -> np.ndarray:
    """Like :func:`load_photo` but return only the ``(H, W, 3) uint8`` RGB array."""
    return load_photo(source, **kwargs).rgb


def _array_to_rgb(array: np.ndarray, label: str) -> np.ndarray:
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or 0 in array.shape[:2]:
        raise VirtArtError(f"{label}: expected an (H, W, 3) image array, got shape {array.shape}")
    array = array[:, :, :3]
    if array.dtype != np.uint8:
        scale = 255.0 if np.issubdtype(array.dtype, np.floating) and array.max() <= 1.0 else 1.0
        array = np.clip(np.round(array.astype(np.float64) * scale), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array)


def load_mask(
    source: ImageSource,
    size: tuple[int, int] | None = None,
    *,
    label: str | None = None,
) -> np.ndarray:
    """Read a mask (white = region) as ``(H, W) float32`` in ``[0, 1]``.

    ``size`` is the photo's ``(width, height)``; a mask of another size is resized to it
    with a warning. A mask with transparency counts transparent pixels as outside.
    """
    label = label or _describe(source)
    if isinstance(source, np.ndarray):
        mask = source.astype(np.float32)
        if mask.ndim == 3:
            mask = mask[:, :, :3].mean(axis=2)
        if mask.max() > 1.0:
            mask = mask / 255.0
    else:
        photo = load_photo(source, label=label)
        mask = photo.rgb.astype(np.float32).mean(axis=2) / 255.0
        if photo.alpha is not None:
            mask *= photo.alpha.astype(np.float32) / 255.0
    if size is not None and (mask.shape[1], mask.shape[0]) != tuple(size):
        from virtart.masks import resize_mask

        warn(f"{label}: mask is {mask.shape[1]}x{mask.shape[0]}, the photo {size[0]}x{size[1]}; resized to fit")
        mask = resize_mask(mask, size)
    return np.clip(mask, 0.0, 1.0).astype(np.float32)


def atomic_write(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file so no half-written file is ever seen."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def encode_png(rgb: np.ndarray, alpha: np.ndarray | None = None) -> bytes:
    """PNG bytes of an ``(H, W, 3) uint8`` image (or ``(H, W)`` mask), with optional alpha."""
    if rgb.ndim == 2:
        image = Image.fromarray(rgb, "L")
    else:
        image = Image.fromarray(rgb, "RGB")
        if alpha is not None:
            image.putalpha(Image.fromarray(alpha, "L"))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def save_png(path: str | os.PathLike, rgb: np.ndarray, alpha: np.ndarray | None = None) -> Path:
    """Save an image atomically as PNG (lossless, so untouched pixels stay bit-identical)."""
    return atomic_write(path, encode_png(rgb, alpha))


def save_mask(path: str | os.PathLike, mask: np.ndarray) -> Path:
    """Save a ``(H, W)`` mask in ``[0, 1]`` as an 8-bit greyscale PNG (white = region)."""
    return atomic_write(path, encode_png(mask_to_uint8(mask)))


def mask_to_uint8(mask: np.ndarray) -> np.ndarray:
    """``(H, W)`` float mask in ``[0, 1]`` (or bool) to ``uint8`` 0-255."""
    return np.clip(np.round(np.asarray(mask, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)
