"""Grading on several machines: `vitcourse grade --shard i/N` and `vitcourse gradebook merge`."""
from __future__ import annotations

import csv

import pytest

from grading_attacks import solution_submission, student_version
from vitcourse.cli import main
from vitcourse.grading import read_gradebook
from vitcourse.grading.grader import Submission
from vitcourse.grading.shard import GradebookConflict, merge_gradebooks, parse_shard, select_shard, shard_of
from vitcourse.notebooks import ROOT

from sandbox_available import needs_sandbox

WARMUP = ROOT / "solutions" / "00_warmup.ipynb"
WRONG = {"relu": "def relu(x):\n    return x.abs()\n"}


def _class(folder):
    """Six students (solutions, a wrong relu, garbage) and one with two submissions (a conflict)."""
    import nbformat

    good = solution_submission(WARMUP)
    wrong = nbformat.writes(student_version(WARMUP, WRONG)).encode()
    for i, data in enumerate([good, wrong, good, b"garbage", wrong, good]):
        (folder / f"s{i}").mkdir(parents=True)
        (folder / f"s{i}" / "00_warmup.ipynb").write_bytes(data)
    (folder / "twice").mkdir()
    (folder / "twice" / "00_warmup.ipynb").write_bytes(good)
    (folder / "twice" / "00_warmup_v2.ipynb").write_bytes(wrong)


@needs_sandbox
@pytest.mark.slow
def test_two_shards_merged_equal_one_run(tmp_path, capsys):
    subs = tmp_path / "subs"
    _class(subs)
    common = ["--jobs", "2", "--seed", "11", "--timeout", "20", "-q"]
    assert main(["grade", str(subs), "--out", str(tmp_path / "all.csv"), *common]) == 0
    for i in (0, 1):
        assert main(["grade", str(subs), "--shard", f"{i}/2", "--out", str(tmp_path / f"shard{i}.csv"), *common]) == 0
    shards = [read_gradebook(tmp_path / f"shard{i}.csv") for i in (0, 1)]
    assert all(shards) and not {r["student"] for r in shards[0]} & {r["student"] for r in shards[1]}
    assert main(["gradebook", "merge", str(tmp_path / "shard0.csv"), str(tmp_path / "shard1.csv"),
                 "--out", str(tmp_path / "merged.csv")]) == 0
    one_run = (tmp_path / "all.csv").read_text()
    assert (tmp_path / "merged.csv").read_text() == one_run  # row for row, byte for byte
    rows = list(csv.DictReader(one_run.splitlines()))
    assert len(rows) == 14 and {r["student"] for r in rows} == {f"s{i}" for i in range(6)} | {"twice"}
    assert {r["status"] for r in rows if r["student"] == "twice"} == {"error"}  # the conflict is still seen
    assert {r["status"] for r in rows if r["student"] == "s0"} == {"passed"}
    assert {r["status"] for r in rows if r["student"] == "s1" and r["task"] == "test_relu"} == {"failed"}

    # merging a shard with a re-graded copy that disagrees is an error naming both files
    bad = tmp_path / "regraded.csv"
    text = (tmp_path / "shard0.csv").read_text().splitlines()
    row = next(csv.DictReader(text))
    changed = list(text)
    changed[1] = changed[1].replace(f",{row['points']},{row['max_points']},", f",99,{row['max_points']},", 1)
    assert changed[1] != text[1]
    bad.write_text("\n".join(changed) + "\n")
    capsys.readouterr()
    assert main(["gradebook", "merge", str(tmp_path / "shard0.csv"), str(bad), "--out", str(tmp_path / "x.csv")]) == 1
    err = capsys.readouterr().err
    assert "shard0.csv" in err and "regraded.csv" in err and "different content" in err and "points" in err
    assert not (tmp_path / "x.csv").exists()


def test_shards_split_a_class_stably_and_completely():
    subs = [Submission(path=None, student=f"student{i}", exercise=f"{i % 3:02d}") for i in range(300)]
    parts = [select_shard(subs, i, 4) for i in range(4)]
    assert sorted(id(s) for p in parts for s in p) == sorted(id(s) for s in subs)  # each in exactly one shard
    assert all(40 <= len(p) <= 110 for p in parts), [len(p) for p in parts]  # roughly even
    # the split must not change between versions or machines: a fixed value of the SHA-256 rule
    # (values from the rule itself: sha256("alice\x0000")[:8] as a big-endian integer, mod 4, is 3, ...)
    assert [shard_of("alice", "00", 4), shard_of("bob", "00", 4), shard_of("alice", "01", 4),
            shard_of("josé", "03", 7)] == [3, 2, 3, 2]
    assert shard_of("alice", "00", 1) == 0
    # a student's two submissions for one exercise are on one shard, so the conflict is still detected there
    twice = [Submission(None, "carol", "02"), Submission(None, "carol", "02")]
    assert sum(bool(select_shard(twice, i, 8)) for i in range(8)) == 1


@pytest.mark.parametrize("text, match", [("1/1", "numbered 0 to 0"), ("3", "must look like i/N"),
                                         ("0/0", "N must be >= 1"), ("a/b", "must look like i/N")])
def test_bad_shard_is_a_clear_error(text, match, capsys):
    with pytest.raises(ValueError, match=match):
        parse_shard(text)
    with pytest.raises(SystemExit) as exit_info:
        main(["grade", "nowhere", "--shard", text])
    assert exit_info.value.code == 2 and match.split()[0] in capsys.readouterr().err


def test_merge_refuses_a_missing_shard_and_keeps_identical_rows(tmp_path):
    row = "student,exercise,task,points,max_points\nann,00_warmup,test_relu,1,1\n"
    (tmp_path / "a.csv").write_text(row)
    (tmp_path / "b.csv").write_text(row)
    assert len(merge_gradebooks([tmp_path / "a.csv", tmp_path / "b.csv"])) == 1  # the same row twice: once
    with pytest.raises(FileNotFoundError, match="gradebook .*c.csv' does not exist: did that shard finish"):
        merge_gradebooks([tmp_path / "a.csv", tmp_path / "c.csv"])
    (tmp_path / "b.csv").write_text(row.replace(",1,1", ",0,1"))
    with pytest.raises(GradebookConflict, match="student 'ann', exercise '00_warmup', task 'test_relu' is in"):
        merge_gradebooks([tmp_path / "a.csv", tmp_path / "b.csv"])
