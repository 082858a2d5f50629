"""The course runner: figures recorded per notebook, gathered per run, failures reported with their cell."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import paths, run


def test_record_and_gather(tmp_path):
    run.start("01_segmentation", tmp_path)
    run.record("ari_best", 0.912345678)
    run.record("k_auto", 5)
    run.start("02_scoring", tmp_path)
    run.record("auc_logistic", 0.8)
    metrics = run.gather_metrics(tmp_path)
    assert metrics == {"01_segmentation": {"ari_best": 0.912346, "k_auto": 5}, "02_scoring": {"auc_logistic": 0.8}}
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics


def test_restart_clears_a_notebook_s_old_figures(tmp_path):
    run.start("01_segmentation", tmp_path)
    run.record("stale", 1)
    run.start("01_segmentation", tmp_path)
    run.record("fresh", 2)
    assert run.gather_metrics(tmp_path) == {"01_segmentation": {"fresh": 2}}


@pytest.mark.parametrize(
    "bad, err",
    [
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        ([1, float("nan")], ValueError),
        ({"a": object()}, TypeError),
    ],
)
def test_record_refuses_what_is_not_a_figure(tmp_path, bad, err):
    run.start("00_x", tmp_path)
    with pytest.raises(err):
        run.record("x", bad)


def test_record_keeps_lists_and_dicts_of_figures(tmp_path):
    run.start("00_x", tmp_path)
    run.record("ran", ["rfm", "churn"])
    run.record("skipped", {"leads": "needs leads.csv", "share": np.float64(0.1234567891)})
    assert json.loads(run.context().metrics_file.read_text()) == {
        "ran": ["rfm", "churn"],
        "skipped": {"leads": "needs leads.csv", "share": 0.123457},
    }


def test_results_never_go_into_data():
    with pytest.raises(ValueError, match="inside data/"):
        run.start("00_x", paths.DATA_DIR / "results")


def test_save_table(tmp_path):
    run.start("01_segmentation", tmp_path)
    p = run.save_table(pd.DataFrame({"customer_id": [1, 2], "cluster": [0, 1]}), "segments.csv")
    assert p == tmp_path / "segments.csv"
    assert p.read_text() == "customer_id,cluster\n1,0\n2,1\n"
    run.start("02_scoring", tmp_path)  # a later lesson of the same run reads it back
    pd.testing.assert_frame_equal(
        run.read_table("segments.csv"), pd.DataFrame({"customer_id": [1, 2], "cluster": [0, 1]})
    )
    assert run.read_table("offers.csv") is None


def test_notebook_selection():
    names = [p.stem for p in run.notebooks()]
    assert names[0] == "00_the_world" and names == sorted(names)
    assert [p.stem for p in run.notebooks(["00"])] == ["00_the_world"]
    with pytest.raises(ValueError, match="no notebook 99"):
        run.notebooks(["99"])


def test_refresh_only_on_the_course_world(tmp_path):
    with pytest.raises(ValueError, match="--refresh"):
        run.run_course(tmp_path, tmp_path / "out", refresh=True)


def test_course_runs_on_another_world_without_touching_committed_notebooks(tmp_path, small_world_dir):
    committed = (paths.NOTEBOOKS_DIR / "00_the_world.ipynb").read_bytes()
    metrics = run.run_course(small_world_dir, tmp_path / "out", only=["00"], progress=False)
    assert metrics["00_the_world"]["rows_customers"] == 3_000
    assert metrics["00_the_world"]["has_truth"] is True
    assert (tmp_path / "out" / "00_the_world.ipynb").exists()
    assert (paths.NOTEBOOKS_DIR / "00_the_world.ipynb").read_bytes() == committed


def test_course_without_truth_skips_checks(tmp_path, world_copy):
    (world_copy / "truth.json").unlink()
    metrics = run.run_course(world_copy, tmp_path / "out", only=["00"], progress=False)
    assert metrics["00_the_world"]["has_truth"] is False
    assert "rule_lift_max_rel_error" not in metrics["00_the_world"]


def test_failure_names_notebook_cell_file_and_fix(tmp_path, world_copy, capsys):
    df = pd.read_csv(world_copy / "products.csv").drop(columns=["category"])
    df.to_csv(world_copy / "products.csv", index=False)
    code = run.main(["--data-dir", str(world_copy), "--out", str(tmp_path / "out"), "--only", "00", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert "FAILED: 00_the_world failed at cell" in err
    assert "SchemaError" in err and "products.csv" in err and "'category'" in err and "Fix:" in err
    assert "world = io.load_world" in err or "import" in err


def test_cli_reports_unknown_notebook(tmp_path, small_world_dir, capsys):
    assert run.main(["--data-dir", str(small_world_dir), "--out", str(tmp_path), "--only", "42"]) == 2
    assert "no notebook 42" in capsys.readouterr().err


def test_executed_notebook_is_clean(tmp_path, small_world_dir):
    run.run_course(small_world_dir, tmp_path, only=["00"], progress=False)
    text = (tmp_path / "00_the_world.ipynb").read_text()
    assert '"papermill"' not in text and '"execution"' not in text
    shutil.rmtree(tmp_path)
    assert not Path(tmp_path).exists()


def test_clean_notebook_merges_one_print_split_into_two_stream_outputs(tmp_path):
    """The kernel may flush one print as 'text' + '\\n'; the committed notebook must not depend on that timing."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    def notebook(outputs):
        nb = new_notebook(cells=[new_code_cell("print('p = 0.313')", outputs=outputs)])
        path = tmp_path / f"nb{len(outputs)}.ipynb"
        nbformat.write(nb, path)
        run.clean_notebook(path)
        return nbformat.read(path, as_version=4).cells[0].outputs

    split = notebook(
        [
            new_output("stream", name="stdout", text="p = 0.313"),
            new_output("stream", name="stdout", text="\n"),
            new_output("stream", name="stderr", text="warning\n"),
        ]
    )
    whole = notebook(
        [new_output("stream", name="stdout", text="p = 0.313\n"), new_output("stream", name="stderr", text="warning\n")]
    )
    assert split == whole
    assert [(o["name"], o["text"]) for o in split] == [("stdout", "p = 0.313\n"), ("stderr", "warning\n")]


def test_fresh_dir_empties_only_a_folder_inside_the_run(tmp_path):
    run.start("99_x", tmp_path / "run")
    d = run.fresh_dir("models")
    (d / "v001.skops").write_text("old")
    outside = tmp_path / "keep.txt"
    outside.write_text("keep")
    assert run.fresh_dir("models") == d and list(d.iterdir()) == []
    for bad in ["../", "..", "a/b", "", "/tmp"]:
        with pytest.raises(ValueError, match="plain folder name"):
            run.fresh_dir(bad)
    assert outside.read_text() == "keep"


def test_the_whole_course_runs_on_a_differently_shaped_crm_export(tmp_path):
    """Issue 9: another team's export (3 segments, other SKUs, categories, regions and ids, 2022-2024, an extra
    column, no truth file) runs through every lesson with the one parameter data_dir, and is only read."""
    import hashlib

    from crm_export import make_crm_export

    data = make_crm_export(tmp_path / "crm")
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(data.iterdir())}
    metrics = run.run_course(data, tmp_path / "out", progress=False)
    assert list(metrics) == [p.stem for p in run.notebooks()]  # every lesson ran and recorded its figures
    assert metrics["00_the_world"]["has_truth"] is False and metrics["00_the_world"]["rows_products"] == 30
    assert metrics["01_segmentation"]["k_auto"] == 3  # the export's three segments, found without being told
    assert not any(k.endswith(("_true", "_oracle")) for m in metrics.values() for k in m)  # truth checks skipped
    lesson04 = (tmp_path / "out" / "04_abtest.ipynb").read_text()
    assert "X012 is not in this data" in lesson04  # says which experiment it read instead
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(data.iterdir())} == before
    for name in ["segments.csv", "lead_scores.csv", "offers.csv", "walk_forward.csv"]:
        assert (tmp_path / "out" / name).exists(), name


def test_cell_timings_reads_papermills_record_heaviest_first(tmp_path):
    import nbformat

    from helpers.run import cell_timings

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# a lesson"),
        nbformat.v4.new_code_cell("import pandas", metadata={"papermill": {"duration": 1.234}}),
        nbformat.v4.new_code_cell("# section: churn\nfit()", metadata={"papermill": {"duration": 9.5}}),
        nbformat.v4.new_code_cell("", metadata={"papermill": {"duration": None}}),
    ]
    path = tmp_path / "00_x.ipynb"
    nbformat.write(nb, path)
    got = cell_timings(path)
    assert [(c["section"], c["seconds"]) for c in got] == [("churn", 9.5), ("", 1.23), ("", 0.0)]
    assert got[0]["cell"] == nb.cells[2]["id"]


def test_auto_jobs_runs_as_many_lessons_as_cpus_and_memory_hold(small_world_dir):
    need = run.lesson_memory_estimate(small_world_dir)
    files = sum(f.stat().st_size for f in small_world_dir.iterdir() if f.is_file())
    assert need == run.LESSON_BASE_BYTES + files  # the kernel's imports, then about the data's bytes
    plenty = 100 * need + run.RUNNER_RESERVE_BYTES
    assert run.auto_jobs(small_world_dir, cpus=2, available=plenty)[0] == 2
    assert run.auto_jobs(small_world_dir, cpus=1, available=plenty)[0] == 1
    assert run.auto_jobs(small_world_dir, cpus=8, available=3 * need + run.RUNNER_RESERVE_BYTES)[0] == 3
    jobs, why = run.auto_jobs(small_world_dir, cpus=2, available=2 * need)  # no room for two and the runner
    assert jobs == 1 and "2 CPUs" in why and "GiB" in why


def test_lessons_wait_for_the_lessons_whose_files_they_read():
    nbs = run.notebooks()
    names = {p.stem for p in nbs}
    by_name = {p.stem: p for p in nbs}
    assert run._waits_for(by_name["00_the_world"], names) == set()
    assert run._waits_for(by_name["02_scoring"], names) == {"00_the_world", "01_segmentation"}
    assert run._waits_for(by_name["04_abtest"], names) == {"00_the_world"}
    assert run._waits_for(by_name["02_scoring"], {"02_scoring", "03_nbo"}) == set()  # only lessons of the run
    order = [p.stem for p in run._order(nbs)]
    assert order[0] == "00_the_world" and order.index("01_segmentation") < order.index("02_scoring")
    assert sorted(order) == sorted(names) and set(run.PRIORITY) == names  # every lesson has its place


def _fake_lesson(nb, target):
    """A worker's lesson for the scheduler's test: writes which lessons had finished when it started."""
    import time

    seen = sorted(p.stem for p in target.parent.glob("*.done"))
    time.sleep(0.2 if nb.stem == "01_segmentation" else 0.05)  # lesson 02 must wait for the slow lesson 01
    if nb.stem == "05_kpis":
        return nb.stem, 3, "ValueError: planted", "x = 1"
    (target.parent / f"{nb.stem}.seen").write_text(json.dumps(seen))
    (target.parent / f"{nb.stem}.done").write_text("")
    return None


def test_side_by_side_starts_a_lesson_after_what_it_reads_and_reports_failures(tmp_path):
    finished = []
    failures = run._side_by_side(run.notebooks(), tmp_path, 2, _fake_lesson, finished.append)
    assert failures == [("05_kpis", 3, "ValueError: planted", "x = 1")]
    seen = {p.stem: json.loads(p.read_text()) for p in tmp_path.glob("*.seen")}
    assert seen["00_the_world"] == []
    assert all("00_the_world" in s for name, s in seen.items() if name != "00_the_world")
    assert "01_segmentation" in seen["02_scoring"]
    assert finished[0].stem == "00_the_world" and "05_kpis" not in {p.stem for p in finished}


def test_jobs_must_be_a_whole_number(tmp_path, small_world_dir, capsys):
    for bad in [0, -1, 1.5, True]:
        with pytest.raises(ValueError, match="jobs must be"):
            run.run_course(small_world_dir, tmp_path, jobs=bad)
    assert run.main(["--data-dir", str(small_world_dir), "--out", str(tmp_path), "--jobs", "two"]) == 2
    assert "--jobs must be auto or a whole number" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing ran


def test_lessons_side_by_side_give_the_same_notebooks_as_one_by_one(tmp_path, small_world_dir):
    """Lessons 03 and 05 run side by side after lesson 00, each kernel on one thread: the same notebooks (by the
    course's rule) and figures as one by one. The whole course side by side is checked against the committed
    notebooks by test_notebooks.py."""
    from helpers import reproduce

    lessons = ["00", "03", "05"]
    one = run.run_course(small_world_dir, tmp_path / "one", only=lessons, progress=False, jobs=1)
    two = run.run_course(small_world_dir, tmp_path / "two", only=lessons, progress=False, jobs=2)
    assert two == one and len(one) == 3
    for p in run.notebooks(lessons):
        for d in ("one", "two"):  # papermill gives the cell of injected parameters a random id
            text = (tmp_path / d / p.name).read_text()
            nb = json.loads(text)
            injected = [c["id"] for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
            assert len(injected) == 1
            (tmp_path / d / p.name).write_text(text.replace(injected[0], "injected"))
        assert reproduce.differences(tmp_path / "two" / p.name, tmp_path / "one" / p.name) == [], p.name
    assert (tmp_path / "two" / "offers.csv").read_bytes() == (tmp_path / "one" / "offers.csv").read_bytes()


def _dying_lesson(nb, target):
    """A worker that dies with its lesson (as when the system stops it for lack of memory)."""
    if nb.stem == "03_nbo":
        os._exit(1)
    return None


def test_a_worker_that_dies_is_reported_with_its_lesson(tmp_path):
    failures = run._side_by_side(run.notebooks(["00", "03"]), tmp_path, 2, _dying_lesson, lambda nb: None)
    assert [f[0] for f in failures] == ["03_nbo"]
    assert failures[0][1] is None and "BrokenProcessPool" in failures[0][2]
