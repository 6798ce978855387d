"""How an export is scored against the Keras model it came from (``shared.export_check``).

A metric gives the Keras model's row, scores each export's outputs against the Keras model's
outputs (row fields, and whether the export is refused), names its table columns and says in
one sentence what it refuses. Reports name their metric (and what its columns are called), so
the Runs page draws any of them from the JSON alone.
"""

import numpy as np

MAX_ACCURACY_DROP = 2.0  # accuracy points (percent) an export may lose against the Keras model
MAX_SCORE_DROP = 2.0  # points (percent) of a held-out score an export may lose


def _points(value):
    return round(100 * float(value), 2)


class Accuracy:
    """A classifier's score: held-out accuracy against ``labels``; an export that loses more
    than ``tolerance`` accuracy points against the Keras model is refused."""

    name = "accuracy"

    @staticmethod
    def columns(report):
        """The table's metric columns: (header, row field, digits)."""
        return (
            ("accuracy", "accuracy", 4),
            ("drop (points)", "drop_points", 2),
            ("agreement", "agreement", 4),
        )

    def __init__(self, labels, tolerance=MAX_ACCURACY_DROP):
        self.labels, self.tolerance = np.asarray(labels), tolerance

    def reference(self, keras_outputs):
        """The Keras model's own row fields."""
        top = np.asarray(keras_outputs).reshape(len(self.labels), -1).argmax(-1)
        return {"accuracy": float(np.mean(top == self.labels))}

    def score(self, outputs, keras_outputs, keras_row):
        """An export's row fields and whether it is refused."""
        top = np.asarray(outputs).reshape(len(self.labels), -1).argmax(-1)
        keras_top = np.asarray(keras_outputs).reshape(len(self.labels), -1).argmax(-1)
        accuracy = float(np.mean(top == self.labels))
        drop = _points(keras_row["accuracy"] - accuracy)
        fields = {
            "accuracy": accuracy,
            "drop_points": drop,
            "agreement": float(np.mean(top == keras_top)),
        }
        return fields, drop > self.tolerance

    def report_fields(self):
        return {"tolerance_points": self.tolerance}

    @staticmethod
    def note(report):
        return (
            f"Checked on {report['examples']} held-out examples against the Keras model; an "
            f"export that loses more than {report['tolerance_points']:g} accuracy points is "
            "refused and not offered for download."
        )


class Fidelity:
    """A generator's score: how close an export's images are to the Keras model's for the
    same inputs (PSNR over the outputs' ``value_range``); under ``min_psnr_db`` is refused.

    At 30 dB over tanh outputs (a range of 2) the RMS difference is under 8 of 255 levels:
    no visible change.
    """

    name = "fidelity"
    MAX_PSNR_DB = 120.0  # identical outputs: a finite figure the JSON report can hold

    def __init__(self, min_psnr_db=30.0, value_range=2.0):
        self.min_psnr_db, self.value_range = min_psnr_db, value_range

    def reference(self, keras_outputs):
        return {}

    def score(self, outputs, keras_outputs, keras_row):
        difference = np.asarray(outputs, "float64").reshape(np.shape(keras_outputs))
        difference = difference - np.asarray(keras_outputs, "float64")
        mse = float(np.mean(difference**2))
        psnr = self.MAX_PSNR_DB
        if mse > 0:
            psnr = min(psnr, 10 * np.log10(self.value_range**2 / mse))
        fields = {"psnr_db": float(psnr), "max_abs_diff": float(np.abs(difference).max())}
        return fields, psnr < self.min_psnr_db

    def report_fields(self):
        return {"min_psnr_db": self.min_psnr_db}

    @staticmethod
    def columns(report):
        return (("PSNR vs Keras (dB)", "psnr_db", 1), ("max abs diff", "max_abs_diff", 4))

    @staticmethod
    def note(report):
        return (
            f"Checked on {report['examples']} inputs against the Keras model's outputs; an "
            f"export whose outputs are under {report['min_psnr_db']:g} dB PSNR from them is "
            "refused and not offered for download."
        )


class Score:
    """A held-out score that needs the model's own decoding (a detector's mAP50): ``compute``
    maps a model's outputs on the held-out examples to a value in [0, 1]; an export that loses
    more than ``tolerance`` points (percent) of it against the Keras model is refused.

    The table titles its column ``label``: the report keeps it.
    """

    name = "score"

    def __init__(self, label, compute, tolerance=MAX_SCORE_DROP):
        self.label, self.compute, self.tolerance = label, compute, tolerance

    def reference(self, keras_outputs):
        return {"score": float(self.compute(np.asarray(keras_outputs)))}

    def score(self, outputs, keras_outputs, keras_row):
        outputs = np.asarray(outputs, "float32").reshape(np.shape(keras_outputs))
        value = float(self.compute(outputs))
        drop = _points(keras_row["score"] - value)
        return {"score": value, "drop_points": drop}, drop > self.tolerance

    def report_fields(self):
        return {"label": self.label, "tolerance_points": self.tolerance}

    @staticmethod
    def columns(report):
        return ((report["label"], "score", 4), ("drop (points)", "drop_points", 2))

    @staticmethod
    def note(report):
        return (
            f"Checked on {report['examples']} held-out examples against the Keras model; an "
            f"export that loses more than {report['tolerance_points']:g} {report['label']} "
            "points is refused and not offered for download."
        )


METRICS = {metric.name: metric for metric in (Accuracy, Fidelity, Score)}
