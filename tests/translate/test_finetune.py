"""Fine-tuning mechanics on the bundled model with a handful of pairs; sacrebleu metrics."""

import json

import pytest

from apps.translate.config import FinetuneConfig
from apps.translate.data import read_parallel, token_arrays
from apps.translate.evaluate import corpus_scores
from apps.translate.evaluate import main as evaluate_main

PAIRS = [
    ("The cat sleeps.", "O gato dorme."),
    ("The dog runs.", "O cão corre."),
    ("I like bread.", "Eu gosto de pão."),
    ("She reads a book.", "Ela lê um livro."),
    ("We drink water.", "Nós bebemos água."),
    ("He eats rice.", "Ele come arroz."),
]


@pytest.fixture
def pairs_file(tmp_path):
    path = tmp_path / "pairs.tsv"
    lines = ["source\ttarget"] + [f"{s}\t{t}" for s, t in PAIRS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_metrics_are_sacrebleu_scores():
    perfect = corpus_scores(["O gato dorme."], ["O gato dorme."])
    assert perfect == {"bleu": 100.0, "chrf": 100.0}
    partial = corpus_scores(["O gato come peixe hoje."], ["O gato dorme bem hoje."])
    assert 0 < partial["bleu"] < 100 and 0 < partial["chrf"] < 100
    assert corpus_scores(["xyz"], ["O gato dorme."])["bleu"] == 0.0
    with pytest.raises(ValueError, match="as many"):
        corpus_scores(["a"], ["a", "b"])


def test_parallel_files(tmp_path, pairs_file):
    assert read_parallel(pairs_file) == PAIRS
    (tmp_path / "bad.csv").write_bytes("caf\xe9,x\n".encode("latin-1"))
    for path, message in [(tmp_path / "bad.csv", "UTF-8"), (tmp_path / "no.tsv", "no such")]:
        with pytest.raises(ValueError, match=message):
            read_parallel(path)
    (tmp_path / "one.tsv").write_text("only one column\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no \\(source, target\\) rows"):
        read_parallel(tmp_path / "one.tsv")


def test_token_arrays_shift_and_cut(bundled_en_pt):
    tokenizer = bundled_en_pt.loaded.tokenizer
    inputs, targets, weights = token_arrays(tokenizer, PAIRS[:2] + [("word " * 40, "a " * 40)], 12)
    assert targets.shape == (3, 12) and inputs["decoder_token_ids"][:, 0].tolist() == [0, 0, 0]
    assert (inputs["decoder_token_ids"][:, 1:] == targets[:, :-1]).all()
    assert targets[2, -1] == tokenizer.end_token_id and weights[2].sum() == 12


def test_finetune_run_and_reload(pairs_file, tmp_path, capsys):
    from apps.translate.finetune import main
    from apps.translate.predictor import Predictor

    runs_dir = str(tmp_path / "runs")
    argv = ["--data", str(pairs_file), "--mode", "feature_extract", "--epochs", "1"]
    argv += ["--batch-size", "4", "--max-length", "16", "--validation-split", "0.34"]
    assert main(argv + ["--runs-dir", runs_dir, "--no-tensorboard", "--target-language", "pt"]) == 0
    ref = capsys.readouterr().out.split("run ")[1].split()[0]
    from shared.runs import open_run

    run = open_run(ref, runs_dir=runs_dir)
    assert run.state == "complete"
    assert {"bleu_before", "bleu_after", "chrf_before", "chrf_after"} <= set(run.metrics)
    assert [point["epoch"] for point in run.metrics["bleu_curve"]] == [0, 1]
    result = Predictor.load(ref, runs_dir=runs_dir).predict("The cat sleeps.")
    assert "gato" in result.translation.lower() and result.model == ref
    assert (
        evaluate_main(["--model", ref, "--data", str(pairs_file), "--json", "--runs-dir", runs_dir])
        == 0
    )
    report = json.loads(capsys.readouterr().out.strip())
    assert report["num_pairs"] == len(PAIRS) and report["bleu"] > 20


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"data": ""}, "--data"),
        ({"max_length": 4}, "max_length"),
        ({"validation_split": 0}, "split"),
    ],
)
def test_bad_configs(overrides, message):
    with pytest.raises(ValueError, match=message):
        FinetuneConfig.tiny(**({"data": "x.tsv"} | overrides)).validate()
