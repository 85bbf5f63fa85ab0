"""The glossary (docs/glossary.md, read by vitcourse.glossary) and the Korean translations that must follow it."""
from __future__ import annotations

import json

import pytest

from vitcourse import glossary
from vitcourse.notebooks import ROOT

GLOSSARY = ROOT / "docs" / "glossary.md"
TERMS = glossary.parse(GLOSSARY)
TEXTS = glossary.translation_texts(ROOT)


def _glossary(tmp_path, rows: list[str], index: bool = True):
    head = ("# Glossary\n\n" + glossary.EN_HEADING + "\n\n| " + " | ".join(glossary.COLUMNS) + " |\n"
            + "|---" * len(glossary.COLUMNS) + "|\n")
    path = tmp_path / "glossary.md"
    path.write_text(head + "\n".join(rows) + "\n", encoding="utf-8")
    if index:
        glossary.write(path)
    return path


ROWS = ["| attention | 어텐션 | 01 |  |  |  |",
        "| cross-attention | 크로스 어텐션 | 07 |  | 교차 어텐션, 교차 주의 |  |",
        "| layer normalization | 층 정규화 | 05 | LayerNorm |  |  |",
        "| DETR | DETR | 09 |  |  | kept in English |"]


# ----------------------------------------------------------------------------------- (a) glosses agree
def test_every_gloss_in_the_translations_uses_the_glossary_rendering():
    assert glossary.gloss_problems(TERMS, TEXTS) == []


def test_a_translation_that_glosses_attention_otherwise_fails(tmp_path):
    terms = glossary.parse(_glossary(tmp_path, ROWS))
    bad = [("i18n/ko/notebooks/01_x.json cell a", "# 주의 집중 (attention)\n\n교차 주의(cross-attention)를 씁니다.")]
    found = glossary.gloss_problems(terms, bad)
    assert len(found) == 2, found
    assert "'attention'" in found[0] and "'어텐션'" in found[0] and "cell a" in found[0]
    assert "'크로스 어텐션'" in found[1]
    good = [("x", "# 어텐션 (attention)\n**크로스\n어텐션**(cross-attention), 층 정규화(LayerNorm), "
                  "09강(DETR), (MLP-믹서, MLP-Mixer)")]
    assert glossary.gloss_problems(terms, good) == []
    assert [g.english for g in glossary.glosses(good[0][1])] == ["attention", "cross-attention", "LayerNorm", "DETR"]


def test_every_korean_gloss_in_the_english_prose_uses_the_glossary_rendering():
    assert glossary.english_gloss_problems(TERMS, glossary.english_markdown(ROOT)) == []


def test_an_english_cell_that_glosses_cross_attention_otherwise_fails(tmp_path):
    rows = ROWS + ["| mAP | 평균 정밀도의 평균 | 09 |  |  |  |", "| warm-up | 워밍업 | 05 |  |  |  |",
                   "| warm-up exercise | 준비 운동 | 00 |  |  |  |"]
    terms = glossary.parse(_glossary(tmp_path, rows))
    bad = [("notebooks/09_x.ipynb cell 3", "**Cross-attention (교차 어텐션).** Each query reads the image.")]
    (found,) = glossary.english_gloss_problems(terms, bad)
    assert "cell 3" in found and "'cross-attention'" in found and "'크로스 어텐션'" in found
    good = [("x", "The decoder's cross-attention (크로스 어텐션), layer normalization (층 정규화), "
                  "a linear map (상대 위치), Exercise 00: warm-up (준비 운동), a word (낱말)")]
    assert glossary.english_gloss_problems(terms, good) == []


def test_every_glossed_term_is_in_the_glossary():
    assert glossary.unknown_glosses(TERMS, TEXTS) == []


def test_a_gloss_of_a_term_the_glossary_lacks_fails(tmp_path):
    terms = glossary.parse(_glossary(tmp_path, ROWS))
    texts = [("f cell b", "잔차 연결 (residual connection), 모양 (B, N, D), 원본 노트 (source notes)")]
    found = glossary.unknown_glosses(terms, texts)
    assert len(found) == 1 and "'residual connection'" in found[0], found


def test_no_translation_uses_a_rendering_the_course_does_not(tmp_path):
    assert glossary.other_rendering_problems(TERMS, TEXTS) == []
    terms = glossary.parse(_glossary(tmp_path, ROWS))
    texts = [("f cell c", "교차 어텐션은 디코더에 있습니다."),
             ("f cell d", "크로스 어텐션(교차 어텐션이라고도 합니다)"),
             ("f cell e", "| 교차 주의 | 크로스 어텐션(cross-attention) |")]
    found = glossary.other_rendering_problems(terms, texts)
    assert len(found) == 1 and "f cell c" in found[0] and "'교차 어텐션'" in found[0], found


# ----------------------------------------------------------------------------------- (b) both directions
def test_every_row_is_in_both_directions():
    assert glossary.index_problems(GLOSSARY, TERMS) == []
    index = glossary.parse_index(GLOSSARY)
    assert len(index) == len(TERMS) and index[0] == ("가중치 행렬", "weight matrix"), index[:3]


def test_a_row_missing_from_the_korean_index_fails(tmp_path):
    path = _glossary(tmp_path, ROWS)
    assert glossary.index_problems(path, glossary.parse(path)) == []
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("| 크로스 어텐션 | cross-attention | 07 |\n", ""), encoding="utf-8")
    found = glossary.index_problems(path, glossary.parse(path))
    assert "크로스 어텐션 -> cross-attention is in the English table but not in the Korean index" in found[0], found
    # and the index comes back from the English table
    glossary.write(path)
    assert glossary.index_problems(path, glossary.parse(path)) == []


def test_the_index_is_in_korean_order_grouped_by_initial_consonant(tmp_path):
    path = _glossary(tmp_path, ROWS)
    text = path.read_text(encoding="utf-8")
    assert [k for k, _ in glossary.parse_index(path)] == ["어텐션", "층 정규화", "크로스 어텐션", "DETR"]
    assert text.index("### ㅇ") < text.index("### ㅊ") < text.index("### ㅋ") < text.index("### A-Z")


def test_malformed_glossary_rows_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="must be one rendering"):
        glossary.parse(_glossary(tmp_path, ["| attention | 어텐션, 주의 | 01 |  |  |  |"], index=False))
    with pytest.raises(ValueError, match="'Attention' is already a term on line"):
        glossary.parse(_glossary(tmp_path, ROWS + ["| Attention | 주의 | 01 |  |  |  |"], index=False))
    with pytest.raises(ValueError, match="already renders 'attention'"):
        glossary.parse(_glossary(tmp_path, ROWS + ["| attending | 어텐션 | 01 |  |  |  |"], index=False))
    with pytest.raises(ValueError, match="4 cells, expected 6"):
        glossary.parse(_glossary(tmp_path, ["| attention | 어텐션 | 01 | |"], index=False))


# ----------------------------------------------------------------------------------- (c) no dead rows
def test_every_glossary_term_is_used_by_a_lecture_or_kept_on_purpose():
    assert glossary.dead_rows(TERMS, glossary.lecture_text(ROOT)) == []


def test_a_row_no_lecture_uses_fails_unless_kept(tmp_path):
    terms = glossary.parse(_glossary(tmp_path, ROWS + ["| gizmo | 기즈모 | 99 |  |  |  |",
                                                       "| widget | 위젯 | 99 |  |  | kept: asked for by readers |"]))
    text = glossary.norm("Attention and cross attention; a LayerNorm; DETR.")
    found = glossary.dead_rows(terms, text)
    assert len(found) == 1 and "'gizmo'" in found[0], found


def test_the_cli_check_passes_on_the_course(capsys):
    assert glossary.main(["check"]) == 0
    assert "0 glossary problem(s)" in capsys.readouterr().out


def test_translation_texts_reads_cells_and_korean_only_cells(tmp_path):
    (tmp_path / "i18n" / "ko" / "notebooks").mkdir(parents=True)
    doc = {"cells": {"a": {"en_sha": "0", "ko": "어텐션 (attention)"}}, "extra": [{"after": "a", "ko": "주의"}]}
    (tmp_path / "i18n" / "ko" / "notebooks" / "01_x.json").write_text(json.dumps(doc, ensure_ascii=False))
    assert glossary.translation_texts(tmp_path) == [("i18n/ko/notebooks/01_x.json cell a", "어텐션 (attention)"),
                                                    ("i18n/ko/notebooks/01_x.json extra 0", "주의")]


def test_the_korean_docs_are_read_and_their_glosses_checked_too(tmp_path):
    """docs/ko/*.md gloss terms like the lectures do; a doc term the glossary lacks fails, and a row of a
    term only the English docs use (Lecture ``docs``) is not dead."""
    (tmp_path / "docs" / "ko").mkdir(parents=True)
    (tmp_path / "docs" / "ko" / "grading.md").write_text("채점기는 샌드박스 (sandbox) 안에서 코드를 실행합니다.\n")
    texts = glossary.translation_texts(tmp_path)
    assert texts == [("docs/ko/grading.md", "채점기는 샌드박스 (sandbox) 안에서 코드를 실행합니다.\n")]
    terms = glossary.parse(_glossary(tmp_path, ROWS))
    assert "'sandbox' is glossed but is not in docs/glossary.md" in " ".join(glossary.unknown_glosses(terms, texts))
    terms = glossary.parse(_glossary(tmp_path, ROWS + ["| sandbox | 샌드박스 | docs | sandboxes |  |  |"]))
    assert glossary.unknown_glosses(terms, texts) == []
    (tmp_path / "docs" / "grading.md").write_text("The grader runs code in a sandbox.\n")
    assert [t.english for t in terms if glossary.dead_rows([t], glossary.lecture_text(tmp_path))] == \
        ["attention", "cross-attention", "layer normalization", "DETR"]
