"""Grad-CAM (Selvaraju et al., 2017) for keras-hub image classifiers with a CNN backbone."""

import numpy as np


def gradcam_heatmap(model, inputs, output_size, class_index=None):
    """Class-activation heatmap from the gradients of the class logit w.r.t. the last features.

    Args:
        model: a keras-hub ``ImageClassifier`` (backbone → pooler → dense head).
        inputs: preprocessed batch of one image, shape (1, H, W, 3).
        output_size: (height, width) of the returned map.
        class_index: which output to explain; None explains the top class.

    Returns:
        An ``output_size`` float32 array in [0, 1].
    """
    import tensorflow as tf

    with tf.GradientTape() as tape:
        features = model.backbone(inputs, training=False)
        if len(features.shape) != 4:
            raise ValueError("Grad-CAM needs a convolutional backbone (4-D feature map)")
        tape.watch(features)
        logits = model.output_dense(model.pooler(features))
        index = int(tf.argmax(logits[0])) if class_index is None else int(class_index)
        score = logits[:, index]
    gradients = tape.gradient(score, features)
    weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1))[0]
    cam = cam / (tf.reduce_max(cam) + 1e-8)
    resized = tf.image.resize(cam[..., None], output_size, method="bilinear")[..., 0]
    return np.clip(resized.numpy(), 0.0, 1.0).astype("float32")


def overlay(image, heatmap, alpha=0.45):
    """Blend a [0, 1] heatmap (jet colours) over an RGB uint8 image."""
    import matplotlib

    colours = matplotlib.colormaps["jet"](heatmap)[..., :3] * 255
    return (image * (1 - alpha) + colours * alpha).clip(0, 255).astype("uint8")
