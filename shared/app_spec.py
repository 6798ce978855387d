"""``AppSpec``: the one place an app plugs into the command lines, the pages and the benches.

An app is a folder under ``apps/`` whose package defines ``SPEC = AppSpec(...)`` from its own
modules, and one line in ``apps/__init__.py``'s table. The shared code and the pages never
look an app up by a string: they iterate the specs and call what the spec holds.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shared.models import ModelCatalog


@dataclass(frozen=True)
class Compact:
    """How the Compare and Chains pages show one result in a narrow column.

    Args:
        render: ``render(result, value)`` draws the result of input ``value`` (Streamlit).
        summary: ``summary(result)`` says it in a few words, for the comparison table.
    """

    render: Callable
    summary: Callable


@dataclass(frozen=True)
class DemoData:
    """The app's small synthetic dataset for the Train page.

    Args:
        description: what it holds, in a few words ("coloured squares, circles ...").
        write: ``write(folder)`` writes it in the layout the app's ``--data`` reads.
    """

    description: str
    write: Callable


@dataclass(frozen=True)
class Exporter:
    """One export a complete run offers on the Runs page.

    Args:
        label: the button's words ("Export SavedModel and TFLite").
        artifact: the run-relative file or folder it writes; its presence means done.
        export: ``export(run)`` writes it.
        done: ``done(run)`` says whether it is written, where the artifact's presence does
            not tell (None: the artifact exists).
    """

    label: str
    artifact: str
    export: Callable
    done: Callable | None = None

    def is_done(self, run):
        """Whether ``run`` has this export already (the page then offers no button)."""
        return self.done(run) if self.done else run.artifact(self.artifact).exists()


@dataclass(frozen=True)
class AppSpec:
    """What the command lines, the pages and the benches know about one app.

    Args:
        name: its short name: the runs-registry folder and the widget-key prefix of its page.
        package: its Python package (``__name__`` of its ``__init__``), whose ``finetune``
            module a background training job runs.
        title: human title for the UI.
        icon: a Material icon name or emoji for the UI.
        description: one sentence for the Home page.
        modality: the input kind ("image", "audio", "text", "latent").
        models: the model references it accepts (default, bundled converters, hub presets).
        predictor: the class with ``load(ref)`` and ``predict(inputs, source=...)``, whose
            results derive from ``shared.results.Result``.
        page: its Streamlit page script, or None.
        samples: sample name -> loader of the inputs its page offers (first: its featured one).
        compact: how Compare and Chains show its result; None keeps it off those pages.
        finetune_config: its ``FinetuneConfig`` dataclass, or None when it does not train.
        demo_data: its small synthetic dataset for the Train page, or None.
        headline_metric: the metric a run is known by ("accuracy", "wer", "fid" ...).
        exporters: what a complete run can be exported to on the Runs page.
    """

    name: str
    package: str
    title: str
    icon: str
    description: str
    modality: str
    models: ModelCatalog
    predictor: type
    page: Path | None = None
    samples: Mapping[str, Callable] = field(default_factory=dict)
    compact: Compact | None = None
    finetune_config: type | None = None
    demo_data: DemoData | None = None
    headline_metric: str | None = None
    exporters: tuple = ()

    @property
    def default_model(self):
        """The reference used when none is given (offline); None when it needs a run."""
        return self.models.default_model

    @property
    def bundled(self):
        """``bundled:<name>`` entries: name -> converter writing a Keras preset folder."""
        return self.models.bundled

    @property
    def hub_presets(self):
        """keras-hub preset names offered as online choices."""
        return self.models.hub_presets

    @property
    def sample_key(self):
        """The widget key of its page's sample choice (Home's links and presentation set it)."""
        return f"{self.name}_sample"

    @property
    def featured_sample(self):
        """The sample Home's one-click link and presentation mode open its page on."""
        return next(iter(self.samples), None)

    @property
    def finetune_module(self):
        """The module ``python -m`` runs to train it (a background job's command)."""
        return f"{self.package}.finetune"


def find_app(specs, name):
    """The spec called ``name`` in ``specs``; ``ValueError`` listing them otherwise."""
    for spec in specs:
        if spec.name == name:
            return spec
    raise ValueError(f"Unknown app {name!r}; available: {[spec.name for spec in specs]}")
