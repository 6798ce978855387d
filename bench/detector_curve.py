"""The held-out learning curve of ``bench.detector_learning``, recorded during training.

``make_curve_callback`` builds the Keras callback that scores the HELD-OUT scenes with
pycocotools (``predict_samples`` + ``coco_map``) before training and every few epochs, keeps the
training clock (wall time inside ``fit`` minus those evaluations) and stops ``fit`` once it has
used the budget; ``saved_weights_epoch`` tells which epoch's weights the run then saved.
"""

import time


def make_curve_callback(held_out, image_size, scale, offset, budget_s, every):
    """A Keras callback that records the held-out mAP curve and enforces the budget."""
    import keras

    from apps.detection.centernet_fit import predict_samples
    from apps.detection.metrics import coco_map

    class HeldOutCurve(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.points, self.losses = [], []
            self.eval_s = 0.0
            self.start = None
            self.epoch_batches = 0
            self.stopped_in_epoch = None

        def train_seconds(self):
            """Wall time since training began, held-out evaluations excluded."""
            return time.perf_counter() - self.start - self.eval_s

        def evaluate(self, epoch, loss=None):
            began = time.perf_counter()
            train_s = began - self.start - self.eval_s
            names = held_out.class_names
            predictions = predict_samples(
                self.model, held_out.samples, len(names), image_size, scale, offset
            )
            scores = coco_map(held_out, predictions, names)
            seconds = time.perf_counter() - began
            self.eval_s += seconds
            point = {
                "epoch": epoch,
                "train_s": train_s,
                "wall_s": began - self.start,
                "map": scores["map"],
                "map50": scores["map50"],
                "map75": scores["map75"],
                "loss": loss,
                "eval_s": seconds,
            }
            self.points.append(point)
            shown = "-" if loss is None else f"{loss:.3f}"
            print(
                f"  epoch {epoch:3d}  {train_s:6.0f} s  loss {shown}"
                f"  held-out mAP50 {scores['map50']:.3f}  mAP {scores['map']:.3f}",
                flush=True,
            )

        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()
            self.evaluate(0)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_batches = 0

        def on_train_batch_end(self, batch, logs=None):
            self.epoch_batches += 1
            if self.train_seconds() >= budget_s:
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            if self.train_seconds() >= budget_s:  # no 1-batch epoch after the budget
                self.model.stop_training = True
            loss = float((logs or {}).get("loss", float("nan")))
            steps = self.params.get("steps")
            partial = bool(self.model.stop_training and steps and self.epoch_batches < steps)
            self.losses.append(
                {
                    "epoch": epoch + 1,
                    "loss": loss,
                    "train_s": self.train_seconds(),
                    "batches": self.epoch_batches,
                    "partial": partial,
                }
            )
            if self.model.stop_training or (epoch + 1) % every == 0:
                self.evaluate(epoch + 1, loss)
                self.points[-1]["partial_epoch"] = partial

    return HeldOutCurve()


def saved_weights_epoch(losses):
    """The epoch whose weights the run saved: the app's EarlyStopping (restore_best_weights,
    monitoring the training loss when there is no validation split) restores the epoch with the
    lowest loss at the end of ``fit``, also when another callback stopped it."""
    return min(losses, key=lambda item: item["loss"])["epoch"] if losses else None
