import io

import numpy as np
import pytest
from PIL import Image

from virtart.errors import VirtArtError, VirtArtWarning
from virtart.imageio import load_mask, load_photo, save_png


def _png(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=kwargs.pop("format", "PNG"), **kwargs)
    return buffer.getvalue()


def test_rgb_roundtrip(tmp_path, small_photo):
    path = save_png(tmp_path / "a.png", small_photo)
    assert np.array_equal(load_photo(path).rgb, small_photo)
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"<html>not an image</html>", "not an image"),
])
def test_bad_bytes(data, message):
    with pytest.raises(VirtArtError, match=message):
        load_photo(data)


def test_truncated_jpeg(small_photo):
    data = _png(Image.fromarray(small_photo), format="JPEG")
    with pytest.raises(VirtArtError, match="truncated|corrupt|cannot read"):
        load_photo(data[: len(data) // 2])


def test_decompression_bomb_refused_before_decoding():
    data = _png(Image.new("L", (4000, 4000)))
    with pytest.raises(VirtArtError, match="megapixels"):
        load_photo(data, max_pixels=1_000_000)


def test_exif_orientation_respected(small_photo):
    image = Image.fromarray(small_photo)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    rotated = load_photo(_png(image, format="JPEG", exif=exif.tobytes()))
    assert rotated.size == (small_photo.shape[0], small_photo.shape[1])


@pytest.mark.parametrize("mode", ["CMYK", "L", "P", "RGBA", "LA", "I;16"])
def test_modes_convert_to_rgb(mode, small_photo):
    image = Image.fromarray(small_photo)
    if mode == "I;16":
        image = Image.fromarray(small_photo[:, :, 0].astype(np.uint16) * 257)
    else:
        image = image.convert(mode)
    photo = load_photo(_png(image, format="TIFF" if mode == "CMYK" else "PNG"))
    assert photo.rgb.dtype == np.uint8 and photo.rgb.shape == small_photo.shape
    if mode == "I;16":
        assert np.array_equal(photo.rgb[:, :, 0], small_photo[:, :, 0])
    if mode in ("RGBA", "LA"):
        assert photo.alpha is None  # fully opaque alpha is dropped


def test_palette_transparency_kept():
    image = Image.new("P", (10, 10), 0)
    image.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    image.info["transparency"] = 0
    photo = load_photo(_png(image, transparency=0))
    assert photo.alpha is not None and photo.alpha.max() == 0


def test_mask_resized_with_warning(tmp_path):
    path = save_png(tmp_path / "m.png", np.full((10, 20), 255, np.uint8))
    with pytest.warns(VirtArtWarning, match="resized"):
        mask = load_mask(path, (40, 20))
    assert mask.shape == (20, 40) and mask.min() == 1.0


def test_a_refused_file_gets_pillows_own_answer_after_ultralytics_loads(tmp_path):
    """Importing ultralytics patches ``PIL.Image.open`` to fetch a HEIC plugin on unreadable
    files; the detector and SAM put Pillow's opener back, so a refused file stays a clear refusal."""
    patches = pytest.importorskip("ultralytics.utils.patches")
    from PIL import Image

    from virtart import settings

    settings.restore_pillow_open()
    assert Image.open is patches._image_open
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a picture")
    with pytest.raises(VirtArtError, match="not an image"):
        load_photo(bad)
