import json
import os
import queue

import numpy as np
import pytest

from warpkit import data, experiments, nn
from warpkit.pictures import sampling_outline

pytest.importorskip("sklearn")
pytest.importorskip("mlxtend")


@pytest.mark.parametrize("model", ["fcn", "st-fcn"])
def test_every_run_folder_holds_the_same_files(model, tmp_path):
    metrics = experiments.train_one("E", model, epochs=1, limit=16, progress=False,
                                    out=str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == sorted(experiments.RUN_FILES)
    assert json.loads((tmp_path / "metrics.json").read_text())["model"] == metrics["model"]
    for picture in ("transformer.png", "curves.png"):
        assert (tmp_path / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_transformer_on_the_cluttered_set_animates_one_frame_per_epoch(tmp_path):
    image_module = pytest.importorskip("PIL.Image")
    experiments.train_one("cluttered", "st-fcn", "attention", epochs=2, limit=16,
                          progress=False, out=str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == sorted(experiments.RUN_FILES
                                                  + (experiments.GIF_FILE,))
    with image_module.open(tmp_path / experiments.GIF_FILE) as gif:
        assert gif.n_frames == 2


def test_gif_on_request_and_its_bad_values(tmp_path):
    image_module = pytest.importorskip("PIL.Image")
    experiments.train_one("E", "st-fcn", epochs=3, limit=16, progress=False, gif=True,
                          picture=False, out=str(tmp_path))
    with image_module.open(tmp_path / experiments.GIF_FILE) as gif:
        assert gif.n_frames == 3
    with pytest.raises(ValueError, match="model 'cnn' has none"):
        experiments.train_one("E", "cnn", epochs=1, gif=True, progress=False)
    with pytest.raises(ValueError, match="gif must be 'auto', True or False, got 'yes'"):
        experiments.train_one("E", "st-cnn", epochs=1, gif="yes", progress=False)


def test_source_and_curriculum_reach_make_dataset_only_when_given(monkeypatch):
    seen = []
    real = data.make_dataset

    def spy(name, **options):
        seen.append(options)
        return real(name, **{key: value for key, value in options.items()
                             if key not in ("source", "curriculum")})

    monkeypatch.setattr(data, "make_dataset", spy)
    common = dict(epochs=1, limit=16, progress=False, picture=False)
    metrics = experiments.train_one("cluttered", "fcn", source="mnist", curriculum=3, **common)
    experiments.train_one("E", "fcn", **common)
    assert seen[0]["source"] == "mnist" and seen[0]["curriculum"] == 3
    assert "source" not in seen[1] and "curriculum" not in seen[1]
    assert (metrics["source"], metrics["curriculum"]) == ("mnist", 3)


def test_limit_takes_every_class_in_turn():
    assert experiments.classes_in_turn([1, 1, 0, 2, 0, 1]).tolist() == [2, 0, 3, 4, 1, 5]
    labels = np.repeat(np.arange(10), 5)  # a set stored class by class
    assert sorted(labels[experiments.classes_in_turn(labels)[:10]]) == list(range(10))


def identity_outline(size):
    """The border pixel centres of a ``size`` x ``size`` image, walked as sampling_outline does."""
    last = size - 1
    steps = np.arange(size, dtype=float)
    top = np.stack([steps, np.zeros(size)], 1)
    right = np.stack([np.full(last, last), steps[1:]], 1)
    bottom = np.stack([steps[-2::-1], np.full(last, last)], 1)
    left = np.stack([np.zeros(last), steps[-2::-1]], 1)
    return np.concatenate([top, right, bottom, left])


def test_identity_outline_is_the_inputs_border_through_its_pixel_centres():
    expected = identity_outline(28)
    identities = {"affine": np.eye(2, 3)[None], "attention": np.eye(2, 3)[None],
                  "perspective": np.eye(3)[None]}
    for transform, theta in identities.items():
        outline = sampling_outline(transform, theta, (28, 28), (28, 28))
        np.testing.assert_allclose(outline[0], expected, rtol=0, atol=1e-9 * 28)
    control = nn.SpatialTransformer((1, 28, 28), "tps").control_points
    outline = sampling_outline("tps", control[None], (28, 28), (28, 28),
                               control_points=control)
    np.testing.assert_allclose(outline[0], expected, rtol=0, atol=1e-6 * 28)


def test_half_scale_attention_outlines_the_central_half():
    st = nn.SpatialTransformer((1, 28, 28), "attention", localization="fcn")
    params = st.init(np.random.default_rng(0))
    params["out"]["b"] = np.array([0.5, 0.0, 0.0], np.float32)  # scale 0.5, no translation
    theta = st.transform_params(params, np.zeros((1, 1, 28, 28), np.float32))
    outline = sampling_outline("attention", theta, st.output_size, (28, 28))[0]
    centre = 13.5
    np.testing.assert_allclose(outline, centre + 0.5 * (identity_outline(28) - centre),
                               rtol=0, atol=1e-5 * 28)
    assert outline.min() == pytest.approx(6.75) and outline.max() == pytest.approx(20.25)


def test_outline_follows_a_translation_and_a_smaller_output():
    theta = np.array([[[1.0, 0.0, 0.5], [0.0, 1.0, 0.0]]])  # a quarter of the width right
    outline = sampling_outline("affine", theta, (14, 14), (28, 28))[0]
    # 14 output pixels span the 28 input pixels: the border points are the centres of
    # 2x2 input blocks, 0.5 .. 26.5, moved 7 pixels right.
    np.testing.assert_allclose(outline[:, 0].min(), 0.5 + 7, rtol=0, atol=1e-9)
    np.testing.assert_allclose(outline[:, 0].max(), 26.5 + 7, rtol=0, atol=1e-9)
    np.testing.assert_allclose([outline[:, 1].min(), outline[:, 1].max()], [0.5, 26.5],
                               rtol=0, atol=1e-9)


def test_outline_rejects_unknown_families_and_a_spline_without_control_points():
    with pytest.raises(ValueError, match="unknown transform 'similarity'"):
        sampling_outline("similarity", np.eye(2, 3)[None], (4, 4), (4, 4))
    with pytest.raises(ValueError, match="'tps' needs control_points"):
        sampling_outline("tps", np.zeros((1, 4, 2)), (4, 4), (4, 4))


def test_run_table_keeps_the_order_of_the_jobs():
    jobs = [dict(dataset="E", model=model, epochs=1, seed=seed, limit=16, picture=False)
            for model in ("fcn", "st-fcn") for seed in (1, 0)]
    results = experiments.run_table(jobs, workers=1, threads=1, progress=False)
    assert [(r["model"], r["seed"]) for r in results] == [("fcn", 1), ("fcn", 0),
                                                          ("st-fcn", 1), ("st-fcn", 0)]


def test_run_table_bar_moves_per_batch_over_all_runs(capsys):
    pytest.importorskip("tqdm")
    jobs = [dict(dataset="E", model="fcn", epochs=1, seed=seed, limit=16, batch_size=8,
                 picture=False) for seed in (0, 1)]
    experiments.run_table(jobs, workers=1, progress=True)
    bar = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()
    assert "4/4" in bar[-1] and "batch" in bar[-1] and "2/2 runs" in bar[-1]


class FakeBar:
    def __init__(self):
        self.total, self.n, self.postfix = None, 0, ""

    def update(self, count):
        self.n += count

    def set_postfix_str(self, text, refresh=True):
        self.postfix = text


def test_table_progress_estimates_the_runs_not_started_yet():
    tracker = experiments._TableProgress(3, FakeBar())
    tracker.batch(0, 1, 10)
    assert (tracker.bar.n, tracker.bar.total) == (1, 30)
    tracker.batch(1, 1, 20)
    tracker.batch(0, 2, 10)
    assert (tracker.bar.n, tracker.bar.total) == (3, 45)  # 10 + 20 + one run of 15
    tracker.run_finished({"model": "st-cnn", "transform": "tps", "dataset": "E", "seed": 1,
                          "test_error": 0.25})
    assert tracker.bar.postfix == "1/3 runs; st-cnn tps E seed 1: 25.0%"


def test_a_worker_reports_its_batches_on_the_queue():
    batches = queue.Queue()
    job = dict(dataset="E", model="fcn", epochs=2, seed=0, limit=16, batch_size=8,
               picture=False, progress=False)
    experiments._train_job(job, 5, batches)
    reports = []
    tracker = experiments._TableProgress(1, FakeBar())
    tracker.batch = lambda run, done, total: reports.append((run, done, total))
    experiments._drain(batches, tracker)
    assert reports == [(5, 1, 4), (5, 2, 4), (5, 3, 4), (5, 4, 4)]


def run(model, transform, dataset, error, seed=0):
    return {"dataset": dataset, "model": model, "transform": transform, "seed": seed,
            "test_error": error, "history": []}


def test_table_has_a_row_per_transformer_and_the_papers_column():
    runs = [run("cnn", None, "E", 0.02), run("st-cnn", "tps", "E", 0.01),
            run("st-cnn", "attention", "E", 0.03), run("st-cnn", "tps", "cluttered", 0.04)]
    table = experiments.format_table(runs, ["E", "cluttered"], ["cnn", "st-cnn"], [0], 3,
                                     transforms=["tps", "attention"])
    lines = table.splitlines()
    assert lines[0] == "| model | E | E (paper) | cluttered | cluttered (paper) |"
    assert lines[1] == "|---|---:|---:|---:|---:|"
    assert lines[2] == "| CNN | 2.0 ± 0.0 | 1.4 | – | 3.5 |"
    assert lines[3] == "| ST-CNN (tps) | 1.0 ± 0.0 | 1.1 | 4.0 ± 0.0 | 1.7 |"
    assert lines[4] == "| ST-CNN (attention) | 3.0 ± 0.0 | – | – | 1.7 |"
    assert experiments.PAPER_CITATION in table


def test_paper_errors_name_known_models_transforms_and_datasets():
    for (model, transform), errors in experiments.PAPER_ERRORS.items():
        assert model in nn.MODELS
        assert transform is None or transform in nn.TRANSFORMS
        assert (transform is None) == (not model.startswith("st-")) or set(errors) == {
            "cluttered"}
        assert set(errors) <= set(data.DATASETS)
        assert all(0 < error < 100 for error in errors.values())
    assert experiments.paper_error("st-cnn", "affine", "RTS") == 0.5
    assert experiments.paper_error("fcn", None, "RTS") == 5.2
    assert experiments.paper_error("st-fcn", "perspective", "cluttered") == 2.0


def test_write_table_files(tmp_path):
    rows = [run("cnn", None, "R", e, seed=s) for s, e in [(0, 0.10), (1, 0.12)]]
    rows += [run("st-cnn", "tps", "R", 0.05)]
    table = experiments.format_table(rows, ["R"], ["cnn", "st-cnn"], [0, 1], 5)
    experiments.write_table_files(str(tmp_path), table, rows, datasets=["R"],
                                  models=["cnn", "st-cnn"], seeds=[0, 1], epochs=5,
                                  seconds=1.0, transforms=["tps"])
    assert sorted(os.listdir(tmp_path)) == sorted(experiments.TABLE_FILES)
    assert (tmp_path / "table.md").read_text() == table + "\n"
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["seeds"] == [0, 1] and all("history" not in run for run in saved["runs"])
    assert saved["transforms"] == ["tps"]
    assert saved["paper"] == {"CNN": {"R": 1.2}, "ST-CNN (tps)": {"R": 0.7}}


def test_make_classifier_checks_the_image_size():
    assert experiments.make_classifier("st-cnn", (28, 28), st_size=16).classifier_input == (
        1, 16, 16)
    with pytest.raises(ValueError, match=r"at least 16x16, got 14x14"):
        experiments.make_classifier("st-cnn", (28, 28), st_pool=2)
    with pytest.raises(ValueError, match="unknown transform"):
        experiments.make_classifier("st-cnn", (28, 28), transform="similarity")


def test_train_one_rejects_bad_arguments():
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        experiments.train_one("R", "cnn", epochs=0, progress=False)
    with pytest.raises(ValueError, match="unknown dataset"):
        experiments.train_one("MNIST", "cnn", epochs=1, progress=False)


def test_the_cluttered_recipe_reaches_the_run_and_explicit_values_win():
    recipe = experiments.RECIPES["cluttered"]
    metrics = experiments.train_one("cluttered", "st-cnn", epochs=1, limit=16, progress=False,
                                    picture=False)
    assert (metrics["lr"], metrics["loc_lr_scale"], metrics["st_scale"]) == (
        recipe["lr"], recipe["loc_lr_scale"], recipe["st_scale"])
    assert metrics["st_output_size"] == [recipe["st_size"]] * 2
    assert (metrics["st_pool"], metrics["curriculum"]) == (recipe["st_pool"], recipe["curriculum"])
    given = experiments.train_one("cluttered", "st-cnn", epochs=1, limit=16, progress=False,
                                  picture=False, lr=1e-3, loc_lr_scale=0.5, st_scale=0.8,
                                  st_size=20, curriculum=0)
    assert (given["lr"], given["loc_lr_scale"], given["st_scale"], given["curriculum"]) == (
        1e-3, 0.5, 0.8, 0)
    assert given["st_output_size"] == [20, 20]


def test_settings_for_defaults_and_errors():
    defaults = experiments.settings_for("RTS")
    assert defaults == experiments.DEFAULT_SETTINGS
    assert experiments.settings_for("cluttered", epochs=3)["epochs"] == 3
    assert experiments.settings_for("cluttered")["epochs"] == experiments.RECIPES["cluttered"][
        "epochs"]
    with pytest.raises(TypeError, match="unknown training settings \\['momentum'\\]"):
        experiments.settings_for("R", momentum=0.9)
