"""The Korean edition (vitcourse.i18n): translations that cannot silently fall behind the English source."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from vitcourse import i18n
from vitcourse.notebooks import ROOT

#: The notebooks whose Korean edition is complete; every one must stay complete and current.
#: (Add a notebook here when its translation is done: `python -m vitcourse.i18n check` lists what is missing.)
KOREAN_EDITION = sorted(p.relative_to(ROOT).as_posix() for p in i18n.english_sources()
                        if i18n.translation_path(p).is_file())


def _notebook(cells):
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _md(cid, text):
    return {"cell_type": "markdown", "id": cid, "metadata": {}, "source": text}


def _code(cid, text):
    return {"cell_type": "code", "id": cid, "metadata": {}, "source": text, "outputs": [], "execution_count": 1}


@pytest.fixture
def course(tmp_path):
    """A tiny course: one English notebook with two markdown cells and one code cell, fully translated."""
    (tmp_path / "notebooks").mkdir()
    en = tmp_path / "notebooks" / "01_x.ipynb"
    en.write_text(json.dumps(_notebook([_md("a", "# Attention\n![qkv](figures/01_qkv.svg)"),
                                        _code("b", "x = 1"), _md("c", "The weights sum to one.")])))
    i18n.template(en, tmp_path)
    tr = i18n.translation_path(en, tmp_path)
    doc = json.loads(tr.read_text())
    doc["cells"]["a"]["ko"] = "# 어텐션 (attention)\n![큐·키·값](figures/01_qkv.svg)"
    doc["cells"]["c"]["ko"] = "가중치를 모두 더하면 언제나 정확히 1이 됩니다."
    tr.write_text(json.dumps(doc, ensure_ascii=False))
    return tmp_path, en


def test_a_complete_translation_builds_a_korean_notebook_with_the_same_code(course):
    root, en = course
    assert i18n.problems(en, root) == ["notebooks/ko/01_x.ipynb does not exist: run `make ko`"]
    ko = i18n.build(en, root)
    assert ko == root / "notebooks" / "ko" / "01_x.ipynb"
    cells = json.loads(ko.read_text())["cells"]
    assert ["".join(c["source"]) for c in cells if c["cell_type"] == "code"] == ["x = 1"]
    assert "](../figures/01_qkv.svg)" in "".join(cells[0]["source"])  # one folder down
    assert i18n.problems(en, root) == []
    assert i18n.hangul_share(ko) > 0.7


def test_korean_outputs_survive_a_prose_rebuild_and_give_way_to_a_code_change(course):
    """`make ko` executes the Korean notebooks (Korean messages in their outputs); rebuilding for a prose change
    keeps those outputs, a code change brings back the English ones until the next execution."""
    root, en = course
    ko = i18n.build(en, root)
    nb = json.loads(ko.read_text())
    assert nb["metadata"]["vitcourse"]["outputs_from"] == "en"
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "✔ 통과\n"}]
    nb["metadata"]["vitcourse"]["outputs_from"] = "ko"  # what execute_korean records
    ko.write_text(json.dumps(nb, ensure_ascii=False))
    i18n.build(en, root)  # a prose rebuild
    nb = json.loads(ko.read_text())
    assert nb["cells"][1]["outputs"][0]["text"] == "✔ 통과\n" and nb["metadata"]["vitcourse"]["outputs_from"] == "ko"
    english = json.loads(en.read_text())
    english["cells"][1]["source"] = "x = 2"
    en.write_text(json.dumps(english))
    i18n.build(en, root)  # the code changed: English outputs until executed again
    nb = json.loads(ko.read_text())
    assert nb["cells"][1]["outputs"] == [] and nb["metadata"]["vitcourse"]["outputs_from"] == "en"


def test_a_changed_english_cell_makes_its_translation_stale(course):
    root, en = course
    i18n.build(en, root)
    nb = json.loads(en.read_text())
    nb["cells"][2]["source"] = "The weights sum to one, and none is negative."
    en.write_text(json.dumps(nb))
    found = i18n.problems(en, root)
    assert len(found) == 1 and "cell c changed after it was translated" in found[0], found
    with pytest.raises(ValueError, match="lack a current Korean translation"):
        i18n.build(en, root)


def test_a_missing_translation_and_changed_korean_code_are_problems(course):
    root, en = course
    i18n.build(en, root)
    nb = json.loads(en.read_text())
    nb["cells"].append(_md("d", "A new paragraph."))
    en.write_text(json.dumps(nb))
    ko = i18n.korean_path(en)
    kb = json.loads(ko.read_text())
    kb["cells"][1]["source"] = "x = 2"
    ko.write_text(json.dumps(kb))
    found = " | ".join(i18n.problems(en, root))
    assert "cell d has no Korean translation" in found and "its code differs" in found


def test_hangul_share_counts_prose_not_code():
    assert i18n.hangul_share  # noqa: B018 - the function exists
    prose = _notebook([_md("a", "어텐션은 `softmax(q @ k.T)` 입니다 $QK^T$")])
    path = Path(__import__("tempfile").mkdtemp()) / "n.ipynb"
    path.write_text(json.dumps(prose))
    assert i18n.hangul_share(path) == 1.0


@pytest.mark.parametrize("source", KOREAN_EDITION)
def test_the_korean_edition_is_complete_current_and_korean(source):
    en = ROOT / source
    assert i18n.problems(en) == []
    share = i18n.hangul_share(i18n.korean_path(en))
    assert share >= 0.7, f"{i18n.korean_path(en)}: Hangul is {share:.0%} of the prose's letters (>= 70% needed)"


def test_korean_exercises_are_made_from_korean_solutions():
    ko = ROOT / "solutions" / "ko"
    if not ko.is_dir():
        pytest.skip("no Korean solutions yet")
    from vitcourse.notebooks import generate_exercises

    assert generate_exercises(ko, ROOT / "exercises" / "ko", check=True) == []


@pytest.fixture
def docs(tmp_path):
    """Every doc in DOCS_TRANSLATED in English, each with a fresh Korean translation in docs/ko/."""
    (tmp_path / "docs" / "ko").mkdir(parents=True)
    for name in i18n.DOCS_TRANSLATED:
        en = f"# {name}\n\nRun `make test` before you commit; the grader reads the manifest.\n"
        (tmp_path / "docs" / name).write_text(en, encoding="utf-8")
        ko = (f"{i18n.doc_header(name, en)}\n# {name}\n\n커밋하기 전에 `make test`를 실행하세요. "
              "채점기(grader)는 매니페스트를 읽습니다.\n")
        (tmp_path / "docs" / "ko" / name).write_text(ko, encoding="utf-8")
    return tmp_path


def test_fresh_doc_translations_have_no_problems(docs):
    assert i18n.doc_problems(docs) == []


def test_an_english_doc_changed_after_translation_makes_its_korean_doc_stale(docs):
    en = docs / "docs" / "teaching.md"
    en.write_text(en.read_text(encoding="utf-8") + "\nA new paragraph.\n", encoding="utf-8")
    found = i18n.doc_problems(docs)
    assert len(found) == 1 and found[0].startswith("docs/ko/teaching.md: stale")
    want = i18n.doc_header("teaching.md", en.read_text(encoding="utf-8"))
    assert "translate the changed parts of docs/teaching.md" in found[0] and want in found[0]


def test_a_missing_korean_doc_is_a_problem(docs):
    (docs / "docs" / "ko" / "authoring.md").unlink()
    found = i18n.doc_problems(docs)
    assert len(found) == 1 and found[0].startswith("docs/ko/authoring.md: missing")


def test_an_english_only_translation_fails_the_hangul_share(docs):
    ko = docs / "docs" / "ko" / "architecture.md"
    en = (docs / "docs" / "architecture.md").read_text(encoding="utf-8")
    ko.write_text(f"{i18n.doc_header('architecture.md', en)}\n{en}", encoding="utf-8")
    found = i18n.doc_problems(docs)
    assert len(found) == 1 and "docs/ko/architecture.md: Hangul is 0%" in found[0]


def test_the_real_korean_docs_are_current_and_korean():
    # docs/ko/grading.md is translated on another branch (h-docko2); drop this filter once it is merged.
    assert i18n.doc_problems() == []
