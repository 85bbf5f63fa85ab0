"""The message catalogue: every message in English and Korean, Korean where the learner is, hints in two levels.

The grading test at the end needs the grader's sandbox (bubblewrap) and is
skipped without it, like tests/test_grading.py.
"""
from __future__ import annotations

import csv
import re

import nbformat
import numpy as np
import pytest
import torch

from vitcourse import messages
from vitcourse.catalogue import MESSAGES
from vitcourse.checks import CheckFailed, all_checks, check
from vitcourse.messages import msg, notebook_language, problems, use_lang
from vitcourse.notebooks import ROOT

HANGUL = re.compile(r"[\uac00-\ud7a3]")


# ----------------------------------------------------------------------------- the catalogue


def test_the_catalogue_has_every_message_in_both_languages_with_the_same_placeholders():
    assert problems() == []
    assert all(set(entry) == {"en", "ko"} for entry in MESSAGES.values())


def test_catalogue_problems_are_found_on_a_broken_fixture():
    broken = {
        "ok": {"en": "{n} cases", "ko": "경우 {n}개"},
        "placeholders only": {"en": "{where}: {problem}", "ko": "{where}: {problem}"},  # nothing to translate
        "no korean": {"en": "passed"},
        "empty korean": {"en": "passed", "ko": " "},
        "placeholders differ": {"en": "{n} of {total}", "ko": "{total}개 중 {count}번째"},
        "untranslated": {"en": "values differ", "ko": "values differ"},
        "unknown language": {"en": "x", "ko": "엑스", "fr": "x"},
    }
    found = problems(broken)
    for key in ("no korean", "empty korean", "placeholders differ", "untranslated", "unknown language"):
        assert any(p.startswith(f"{key}:") for p in found), (key, found)
    assert not any(p.startswith(("ok:", "placeholders only:")) for p in found), found


def course_checks() -> dict:
    """The exercises' checks (vitcourse/checks/exNN.py), not the throwaway ones other test files register."""
    return {n: c for n, c in all_checks().items() if type(c).__module__.startswith("vitcourse.checks.ex")}


def test_every_check_has_a_nudge_and_a_second_hint_in_the_catalogue():
    checks = course_checks()
    assert len(checks) > 20
    for name in checks:
        for level in (1, 2):
            assert f"hint.{name}.{level}" in MESSAGES, f"{name} has no level-{level} hint in vitcourse/catalogue.py"
        assert MESSAGES[f"hint.{name}.1"]["en"] != MESSAGES[f"hint.{name}.2"]["en"], name
    stray = {k.rsplit(".", 1)[0][5:] for k in MESSAGES if k.startswith("hint.")} - set(checks)
    assert not stray, f"hints for checks that do not exist: {sorted(stray)}"


#: A line of code in a hint: an assignment (``scores = ...``), a matrix product, a return statement, a lambda.
CODE_LINE = re.compile(r"[\w\])]\s*=\s*[^=\s]|(?<![=!<>])=(?!=)|\s@\s|\breturn\s+\w+\s*[\[(=@]|\blambda\b")


def code_in(text: str) -> bool:
    return bool(CODE_LINE.search(text))


def test_no_hint_holds_a_line_of_the_solution():
    assert code_in("scores = q @ k^T / sqrt(d); out = weights @ v")  # the old recipe of 01.masked_attention
    assert code_in("x0 = cx - w/2") and code_in("use keepdim=True")
    assert not code_in("Divide the scores by the square root of d (the key width).")
    bad = [(k, lang) for k, entry in MESSAGES.items() if k.startswith("hint.") for lang, text in entry.items()
           if code_in(text)]
    assert not bad, bad


# ----------------------------------------------------------------------------- choosing the language


def test_language_comes_from_the_variable_the_notebook_or_english(monkeypatch, english, tmp_path):
    assert messages.current_lang() == "en"
    monkeypatch.setenv("VITCOURSE_LANG", "ko")
    assert messages.current_lang() == "ko"
    monkeypatch.setenv("VITCOURSE_LANG", "fr")
    with pytest.raises(ValueError, match="VITCOURSE_LANG must be one of en, ko, got 'fr'"):
        messages.current_lang()
    monkeypatch.delenv("VITCOURSE_LANG")
    monkeypatch.setenv("JPY_SESSION_NAME", str(ROOT / "exercises" / "ko" / "01_attention.ipynb"))
    assert messages.current_lang() == "ko"
    monkeypatch.setenv("JPY_SESSION_NAME", str(ROOT / "exercises" / "01_attention.ipynb"))
    assert messages.current_lang() == "en"
    monkeypatch.delenv("JPY_SESSION_NAME")
    (tmp_path / "ko").mkdir()
    monkeypatch.chdir(tmp_path / "ko")  # nbclient and nbval run a notebook in its own folder
    assert messages.current_lang() == "ko"
    with use_lang("en"):
        assert messages.current_lang() == "en"
    with pytest.raises(ValueError, match="lang must be one of en, ko"):
        msg("grade.passed", lang="de", visible=1, hidden=1)


def test_a_notebook_says_its_language_in_its_metadata():
    ko = nbformat.read(ROOT / "exercises" / "ko" / "00_warmup.ipynb", as_version=4)
    en = nbformat.read(ROOT / "exercises" / "00_warmup.ipynb", as_version=4)
    assert notebook_language(ko) == "ko" and notebook_language(en) is None
    assert notebook_language({"metadata": {"vitcourse": {"lang": "ko"}}}) == "ko"
    assert notebook_language({"metadata": "junk"}) is None


def test_a_message_with_a_missing_value_says_which(english):
    with pytest.raises(KeyError, match="needs the value 'hidden'"):
        msg("grade.passed", visible=3)
    with pytest.raises(KeyError, match="no message 'no.such.key'"):
        msg("no.such.key")


# ----------------------------------------------------------------------------- instant feedback


def _identity(x):
    return x


def _relu(x):
    return torch.clamp(x, min=0)


def test_a_check_failure_in_a_korean_notebook_is_in_korean(korean):
    with pytest.raises(CheckFailed) as info:
        check("00.relu", _identity, hint=1)
    text = str(info.value)
    assert text.startswith("✘ 00.relu (공개된 경우 3개 중 1번째) 실패:") and "값이 다릅니다" in text
    assert "힌트: ReLU는 양수는 그대로" in text and "Hint:" not in text
    with pytest.raises(CheckFailed, match="아직 구현되지 않았습니다"):
        check("00.relu", lambda x: (_ for _ in ()).throw(NotImplementedError()), hint=1)


def _library_softmax(x, tau=1.0):
    return torch.softmax(x / tau, dim=-1)


def test_a_forbidden_function_is_named_in_korean(korean):
    with pytest.raises(CheckFailed) as info:
        check("01.softmax", _library_softmax)
    text = str(info.value)
    assert text.startswith("✘ 01.softmax: 이 과제는 softmax 함수를 직접 작성하라고 합니다"), text
    assert "torch.softmax" in text and "채점기(grader)는 이런 답의 점수를 보류합니다" in text


def test_a_korean_pass_line(korean, capsys):
    check("00.relu", _relu)
    assert capsys.readouterr().out.strip() == "✔ 00.relu: relu, 공개된 경우 3개 통과"


def test_the_same_failure_in_english_by_default(english):
    with pytest.raises(CheckFailed) as info:
        check("00.relu", _identity, hint=1)
    assert str(info.value).startswith("✘ 00.relu (visible case 1 of 3) failed:")
    assert "Hint: ReLU keeps positive entries" in str(info.value) and not HANGUL.search(str(info.value))


def test_hints_come_in_two_levels(english):
    from vitcourse import checks as module

    module._FAILURES.pop("00.relu", None)
    nudge, more = MESSAGES["hint.00.relu.1"]["en"], MESSAGES["hint.00.relu.2"]["en"]
    with pytest.raises(CheckFailed) as first:
        check("00.relu", _identity)
    assert nudge in str(first.value) and more not in str(first.value)
    assert "check('00.relu', relu, hint=2) shows it now" in str(first.value)
    with pytest.raises(CheckFailed) as second:  # the same check fails again in this kernel
        check("00.relu", _identity)
    assert nudge in str(second.value) and f"More detail: {more}" in str(second.value)
    check("00.relu", _relu, quiet=True)  # a pass starts over
    with pytest.raises(CheckFailed) as third:
        check("00.relu", _identity)
    assert more not in str(third.value)
    with pytest.raises(CheckFailed) as asked:
        check("00.relu", _identity, hint=2)
    assert f"More detail: {more}" in str(asked.value)
    for bad in (3, 0, True, "2"):
        with pytest.raises(ValueError, match="hint must be 1 .* or 2"):
            check("00.relu", _relu, hint=bad)
    module._FAILURES.pop("00.relu", None)


def test_the_masked_attention_hints_name_the_steps_without_the_recipe(english):
    from vitcourse.checks.ex01 import masked_attention_np

    def no_scaling(q, k, v, mask):  # the forgotten 1/sqrt(d) (issue 15)
        out, w = masked_attention_np(q.numpy() * np.sqrt(q.shape[-1]), k.numpy(), v.numpy(), mask.numpy())
        return torch.from_numpy(out).float(), torch.from_numpy(w).float()

    with pytest.raises(CheckFailed) as info:
        check("01.masked_attention", no_scaling, hint=2)
    text = str(info.value)
    assert "1/√d" in text and "square root of d" in text
    assert not code_in(text.split("Hint:", 1)[1]), text


# ----------------------------------------------------------------------------- the grader in Korean


@pytest.mark.slow
def test_grading_a_korean_notebook_gives_korean_feedback_and_the_same_gradebook_columns(english, tmp_path):
    from grading_attacks import student_version
    from sandbox_available import ISOLATION, WHY

    from vitcourse.grading import Grader, discover, write_csv, write_feedback

    if ISOLATION is None:
        pytest.skip(f"the grader's sandbox is unavailable here: {WHY}")
    wrong = {"relu": "import torch\n\ndef relu(x):\n    return x.clone()\n"}
    paths = {}
    for lang, folder in (("en", ROOT / "solutions"), ("ko", ROOT / "solutions" / "ko")):
        path = tmp_path / lang / "kim_00_warmup.ipynb"
        path.parent.mkdir()
        path.write_text(nbformat.writes(student_version(folder / "00_warmup.ipynb", wrong)), encoding="utf-8")
        paths[lang] = path
    assert notebook_language(nbformat.read(paths["ko"], as_version=4)) == "ko"
    with Grader(seed=7) as g:
        rows = {lang: g.grade_all(discover([p])) for lang, p in paths.items()}
    en, ko = ({r.task: r for r in rows[lang]} for lang in ("en", "ko"))
    same = ("student", "exercise", "task", "points", "max_points", "status", "pending_points", "checks")
    assert [[getattr(r, f) for f in same] for r in rows["en"]] == [[getattr(r, f) for f in same] for r in rows["ko"]]
    assert en["test_relu"].status == "failed" and en["test_row_normalize"].status == "passed"
    assert en["test_relu"].reason.startswith("visible case 1 of 3: relu(x): values differ")
    assert ko["test_relu"].reason.startswith("공개된 경우 3개 중 1번째: relu(x): 값이 다릅니다"), ko["test_relu"].reason
    assert ko["test_row_normalize"].reason == "공개된 경우 3개와 숨겨진 경우 5개를 통과했습니다"
    assert ko["test_relu"].hint == MESSAGES["hint.00.relu.1"]["ko"]
    for lang in ("en", "ko"):
        write_csv(rows[lang], tmp_path / f"{lang}.csv")
        write_feedback(rows[lang], tmp_path / f"feedback-{lang}")
    headers = [(tmp_path / f"{lang}.csv").read_text(encoding="utf-8").splitlines()[0] for lang in ("en", "ko")]
    assert headers[0] == headers[1]
    ko_rows = list(csv.DictReader((tmp_path / "ko.csv").read_text(encoding="utf-8").splitlines()))
    assert [r["status"] for r in ko_rows] == ["failed", "passed"]  # statuses are column values, not prose
    text = (tmp_path / "feedback-ko" / "kim" / "00_warmup.md").read_text(encoding="utf-8")
    assert text.startswith("# 피드백: 00_warmup") and "점수: **2 / 3**" in text and "(실패)" in text
    assert "힌트: ReLU는" in text and "Hint" not in text and "Score" not in text
    english_text = (tmp_path / "feedback-en" / "kim" / "00_warmup.md").read_text(encoding="utf-8")
    assert english_text.startswith("# Feedback: 00_warmup") and not HANGUL.search(english_text)


def test_every_message_formats_in_both_languages():
    for key, entry in MESSAGES.items():
        names = messages.placeholders(entry["en"])
        for lang in ("en", "ko"):
            text = msg(key, lang=lang, **{n: 1.5 for n in names})
            assert "{" not in text, (key, lang, text)
