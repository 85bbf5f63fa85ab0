"""Every learner-facing message of the checks and the grader, in English and Korean (see `vitcourse.messages`).

``MESSAGES[key] = {"en": ..., "ko": ...}``; placeholders are ``str.format``
fields and must be the same in both languages. A new message needs both
texts (``tests/test_messages.py`` fails otherwise); Korean follows
``docs/glossary.md``, with the English term in parentheses at first use where
it helps. Hints are ``hint.<check>.1`` (a nudge that names what to look at)
and ``hint.<check>.2`` (more detail, shown on a repeated failure or with
``check(..., hint=2)``); neither holds a line of the solution.
"""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    # ------------------------------------------------------------------ check(): pass, fail, where
    "check.bad_name": {
        "en": "check name must look like 'NN.task' (e.g. '01.softmax'), got {name!r}",
        "ko": "검사 이름은 'NN.task' 꼴이어야 합니다(예: '01.softmax'). 받은 이름: {name!r}",
    },
    "check.unknown": {
        "en": "no check named {name!r}; known for exercise {exercise}: {known}",
        "ko": "그런 이름의 검사가 없습니다: {name!r}. 연습 문제 {exercise}의 검사: {known}",
    },
    "check.bad_hint_level": {
        "en": "hint must be 1 (a nudge) or 2 (more detail), got {value!r}",
        "ko": "hint는 1(방향만 짚어 주기) 또는 2(더 자세히)여야 합니다. 받은 값: {value!r}",
    },
    "check.not_callable": {
        "en": "{name}: expected the function or class {target!r}, got {got} (did you run the cell that defines it?)",
        "ko": "{name}: 필요한 것은 함수나 클래스 {target!r}인데, 받은 것은 {got}입니다"
        "(그것을 정의하는 셀을 실행했나요?)",
    },
    "check.rule": {
        "en": "✘ {name}: the task asks you to write {target} yourself, but {violation}. The grader withholds the "
        "points of such an answer; use the operations the task allows.",
        "ko": "✘ {name}: 이 과제는 {target} 함수를 직접 작성하라고 합니다. 그런데 {violation}. 채점기(grader)는 이런 "
        "답의 점수를 보류합니다. 과제가 허용하는 연산만 쓰세요.",
    },
    "rule.uses": {
        "en": "it uses {how} ({name})",
        "ko": "코드에서 {how}({name})을(를) 사용합니다",
    },
    "rule.use": {
        "en": "cell {cell}, line {line}: uses {how} ({name}), which the task asks you to write yourself",
        "ko": "셀 {cell}, {line}번째 줄: {how}({name})을(를) 사용합니다. 이 과제는 그것을 직접 작성하라고 합니다",
    },
    "case.visible": {
        "en": "visible case {i} of {n}",
        "ko": "공개된 경우 {n}개 중 {i}번째",
    },
    "case.hidden": {
        "en": "hidden case {i} of {n}",
        "ko": "숨겨진 경우 {n}개 중 {i}번째",
    },
    "check.again": {
        "en": "{where}, seed {seed}: {call} runs it again",
        "ko": "{where}, 시드(seed) {seed}. 다시 실행하려면: {call}",
    },
    "check.not_implemented": {
        "en": "{target} is not implemented yet (it raised NotImplementedError): replace the `raise` with your code",
        "ko": "{target}: 아직 구현되지 않았습니다(NotImplementedError가 발생했습니다). `raise` 줄을 여러분의 코드로 "
        "바꾸세요",
    },
    "check.raised": {
        "en": "{target} raised {error}: {detail}",
        "ko": "{target}에서 {error} 오류가 발생했습니다: {detail}",
    },
    "check.raised_at": {
        "en": "    at line {line} of your cell, in {function}: {code}",
        "ko": "    여러분 셀의 {line}번째 줄, {function} 안: {code}",
    },
    "check.case_error": {
        "en": "✘ {name} ({where}): {problem}",
        "ko": "✘ {name} ({where}): {problem}",
    },
    "check.case_failed": {
        "en": "✘ {name} ({where}) failed:\n  - {problems}",
        "ko": "✘ {name} ({where}) 실패:\n  - {problems}",
    },
    "check.hint": {
        "en": "Hint: {hint}",
        "ko": "힌트: {hint}",
    },
    "check.hint_more": {
        "en": "More detail: {hint}",
        "ko": "더 자세한 힌트: {hint}",
    },
    "check.hint_next": {
        "en": "(If it fails again, the next run adds a more detailed hint; {call} shows it now.)",
        "ko": "(다시 실패하면 다음 실행에서 더 자세한 힌트를 덧붙입니다. 지금 보려면 실행하세요: {call})",
    },
    "check.passed_visible.one": {
        "en": "✔ {name}: {target} passed {n} visible case",
        "ko": "✔ {name}: {target}, 공개된 경우 {n}개 통과",
    },
    "check.passed_visible.many": {
        "en": "✔ {name}: {target} passed {n} visible cases",
        "ko": "✔ {name}: {target}, 공개된 경우 {n}개 통과",
    },
    "check.passed_hidden.one": {
        "en": "✔ {name}: {target} passed {n} hidden case",
        "ko": "✔ {name}: {target}, 숨겨진 경우 {n}개 통과",
    },
    "check.passed_hidden.many": {
        "en": "✔ {name}: {target} passed {n} hidden cases",
        "ko": "✔ {name}: {target}, 숨겨진 경우 {n}개 통과",
    },
    "check.passed_fresh": {
        "en": " (fresh random ones, like the grader's hidden cases)",
        "ko": " (채점기의 숨겨진 경우처럼 새로 뽑은 무작위 경우)",
    },
    # ------------------------------------------------------------------ plain data and comparisons
    "plain.nested": {
        "en": "output nested too deeply: more than {limit} levels of dicts and lists",
        "ko": "출력이 너무 깊이 중첩되어 있습니다: 딕셔너리와 리스트가 {limit}단계보다 깊습니다",
    },
    "plain.dtype": {
        "en": "an output array has dtype {dtype}; expected numbers",
        "ko": "출력 배열의 dtype이 {dtype}입니다. 숫자 배열이어야 합니다",
    },
    "plain.size": {
        "en": "an output array has {size} elements, more than {limit}",
        "ko": "출력 배열의 원소가 {size}개로, 한도 {limit}개보다 많습니다",
    },
    "plain.string": {
        "en": "an output string is longer than {limit:,} characters",
        "ko": "출력 문자열이 {limit:,}자보다 깁니다",
    },
    "plain.keys": {"en": "output dict keys must be strings", "ko": "출력 딕셔너리(dict)의 키는 문자열이어야 합니다"},
    "plain.reserved": {
        "en": "output dict key {key!r} is reserved by the grader's wire format; use another name",
        "ko": "출력 딕셔너리(dict)의 키 {key!r}는 채점기의 전송 형식이 쓰는 이름입니다. 다른 이름을 쓰세요",
    },
    "plain.list": {
        "en": "output list is too long: more than {limit} items",
        "ko": "출력 리스트가 너무 깁니다: 항목이 {limit}개보다 많습니다",
    },
    "plain.type": {
        "en": "expected plain data (array, number, string, dict or list), got {type}",
        "ko": "단순한 데이터(배열, 숫자, 문자열, 딕셔너리, 리스트)여야 하는데 {type} 값을 받았습니다",
    },
    "judge.not_plain": {
        "en": "{target} returned something that is not plain data: {error}",
        "ko": "{target}의 반환값이 단순한 데이터가 아닙니다: {error}",
    },
    "cmp.dict": {
        "en": "{what}: expected a dict with keys {keys}, got {got}",
        "ko": "{what}: 키가 {keys}인 딕셔너리여야 하는데 {got} 값을 받았습니다",
    },
    "cmp.missing_keys": {"en": "{what}: missing keys {keys}", "ko": "{what}: 빠진 키 {keys}"},
    "cmp.sequence": {
        "en": "{what}: expected a sequence of {n} items, got {got}",
        "ko": "{what}: 항목이 {n}개인 시퀀스여야 하는데 받은 것은 {got}입니다",
    },
    "cmp.array": {
        "en": "{what}: expected an array of shape {shape}, got {got}",
        "ko": "{what}: 모양(shape)이 {shape}인 배열이어야 하는데 {got} 값을 받았습니다",
    },
    "cmp.shape": {
        "en": "{what}: expected shape {expected}, got {got}",
        "ko": "{what}: 모양(shape)이 다릅니다. 기대한 모양 {expected}, 받은 모양 {got}",
    },
    "cmp.float": {
        "en": "{what}: expected floating point values, got dtype {dtype}",
        "ko": "{what}: 부동소수점 값이어야 하는데 dtype이 {dtype}입니다",
    },
    "cmp.int": {
        "en": "{what}: expected integer values, got dtype {dtype}",
        "ko": "{what}: 정수 값이어야 하는데 dtype이 {dtype}입니다",
    },
    "cmp.bool": {
        "en": "{what}: expected boolean values, got dtype {dtype}",
        "ko": "{what}: 불리언(bool) 값이어야 하는데 dtype이 {dtype}입니다",
    },
    "cmp.nan": {
        "en": "{what}: NaN where none was expected (or the reverse), first at index {index}",
        "ko": "{what}: NaN이 없어야 할 곳에 NaN이 있습니다(또는 그 반대). 처음 나온 곳: 인덱스 {index}",
    },
    "cmp.values": {
        "en": "{what}: values differ; largest difference {diff:.3g} at index {index} (got {got:.6g}, expected "
        "{expected:.6g}; tolerance atol={atol:g}, rtol={rtol:g})",
        "ko": "{what}: 값이 다릅니다. 가장 큰 차이는 인덱스 {index}에서 {diff:.3g}입니다(받은 값 {got:.6g}, 기대한 값 "
        "{expected:.6g}; 허용 오차 atol={atol:g}, rtol={rtol:g})",
    },
    "cmp.values_exact": {
        "en": "{what}: values differ, first at index {index} (got {got!r}, expected {expected!r})",
        "ko": "{what}: 값이 다릅니다. 처음 다른 곳: 인덱스 {index} (받은 값 {got!r}, 기대한 값 {expected!r})",
    },
    "what.output": {"en": "output", "ko": "출력"},
    "what.accuracy": {"en": "accuracy", "ko": "정확도"},
    "what.test_accuracy": {"en": "test accuracy", "ko": "테스트 정확도"},
    "what.encoding": {"en": "encoding", "ko": "인코딩"},
    "what.encoding_2d": {"en": "2D encoding", "ko": "2차원 인코딩"},
    "what.patches": {"en": "patches", "ko": "패치"},
    "what.patch_embeddings": {"en": "patch embeddings", "ko": "패치 임베딩"},
    "what.logits": {"en": "logits", "ko": "로짓(logits)"},
    "what.output_of": {"en": "{target} output", "ko": "{target} 출력"},
    "what.garbage_padding": {
        "en": "output after changing only the padded context tokens",
        "ko": "패딩된 컨텍스트 토큰만 바꾼 뒤의 출력",
    },
    # ------------------------------------------------------------------ training tasks
    "acc.shape": {
        "en": "predictions: expected shape {expected}, got {got}",
        "ko": "예측: 모양(shape)이 다릅니다. 기대한 모양 {expected}, 받은 모양 {got}",
    },
    "acc.dtype": {
        "en": "predictions: expected integer class labels, got dtype {dtype}",
        "ko": "예측: 정수 클래스 레이블이어야 하는데 dtype이 {dtype}입니다",
    },
    "acc.below": {
        "en": "{what} {acc:.3f} on held-out digits is below the required {threshold:.2f}",
        "ko": "따로 떼어 둔 숫자에서 잰 {what}: {acc:.3f}. 필요한 값 {threshold:.2f}보다 낮습니다",
    },
    "train.must_return": {
        "en": "{target} must return the trained model (its config and weights are judged)",
        "ko": "{target}: 학습된 모델을 돌려줘야 합니다(채점은 모델의 설정(config)과 가중치로 합니다)",
    },
    "train.rebuild": {
        "en": "the returned model cannot be rebuilt as the required architecture: {error}",
        "ko": "돌려준 모델을 요구한 구조로 다시 만들 수 없습니다: {error}",
    },
    "train.too_big": {
        "en": "the model has {n} parameters, more than the {limit} allowed",
        "ko": "모델의 매개변수가 {n}개로, 허용된 {limit}개보다 많습니다",
    },
    "train.weights": {
        "en": "the returned weights do not fit the required architecture: {error}",
        "ko": "돌려준 가중치가 요구한 구조에 맞지 않습니다: {error}",
    },
    # ------------------------------------------------------------------ exercise-specific properties
    "ex00.relu_dtype": {
        "en": "relu(x): expected dtype {expected} (same as x), got {got}",
        "ko": "relu(x): dtype이 x와 같아야 합니다(기대한 dtype {expected}, 받은 dtype {got})",
    },
    "ex00.row_sums": {
        "en": "row_normalize(x): rows must sum to 1 (rows of zeros to 0)",
        "ko": "row_normalize(x): 각 행의 합이 1이어야 합니다(0으로만 된 행은 0)",
    },
    "ex01.softmax_rows": {
        "en": "weights must be non-negative and each row must sum to one",
        "ko": "가중치는 음수가 아니어야 하고 각 행의 합이 1이어야 합니다",
    },
    "ex01.pair": {
        "en": "masked_attention must return a pair (out, weights)",
        "ko": "masked_attention은 (out, weights) 한 쌍을 돌려줘야 합니다",
    },
    "ex02.permutation": {
        "en": "shuffling the input tokens must shuffle the outputs the same way (self-attention is permutation "
        "equivariant), but it did not",
        "ko": "입력 토큰의 순서를 섞으면 출력도 똑같이 섞여야 합니다(셀프 어텐션은 순열 등변(permutation "
        "equivariant)입니다). 그런데 그렇지 않았습니다",
    },
    "ex02.causal": {
        "en": "changing tokens {cut}.. changed the outputs of tokens 0..{last}: a causal layer must not look at "
        "later tokens",
        "ko": "토큰 {cut}.. 을 바꿨더니 토큰 0..{last}의 출력이 바뀌었습니다. 인과(causal) 계층은 뒤쪽 토큰을 보면 "
        "안 됩니다",
    },
    "ex07.not_tensor": {
        "en": "expected cross_attention to return one (B, Nq, D) tensor, got {got}",
        "ko": "cross_attention은 (B, Nq, D) 텐서 하나를 돌려줘야 하는데 {got} 값을 받았습니다",
    },
    "ex07.padding": {
        "en": "{failure} (padded keys must get zero weight: mask them before the softmax)",
        "ko": "{failure} (패딩된 키의 가중치는 0이어야 합니다. 소프트맥스 전에 마스크하세요)",
    },
    "ex07.pool_pair": {
        "en": "expected attention_pool to return a pair (pooled (B, Q, D), attn (B, Q, N))",
        "ko": "attention_pool은 (pooled (B, Q, D), attn (B, Q, N)) 한 쌍을 돌려줘야 합니다",
    },
    "ex07.pool_sums": {
        "en": "attn: each query's weights over the N tokens must sum to 1 (softmax over the last axis)",
        "ko": "attn: 쿼리마다 N개 토큰에 대한 가중치의 합이 1이어야 합니다(마지막 축에 대한 소프트맥스)",
    },
    "ex09.pair": {
        "en": "hungarian_match must return a pair (pred_idx, tgt_idx) of int64 tensors",
        "ko": "hungarian_match는 int64 텐서 한 쌍 (pred_idx, tgt_idx)를 돌려줘야 합니다",
    },
    "ex09.int": {
        "en": "indices must be integer tensors (int64), got dtypes {a} and {b}",
        "ko": "인덱스는 정수(int64) 텐서여야 하는데 dtype이 {a}, {b}입니다",
    },
    "ex09.count": {
        "en": "expected {n} matched pairs (one per object), got index shapes {a} and {b}",
        "ko": "매칭된 쌍이 {n}개(객체마다 하나)여야 하는데 인덱스의 모양이 {a}, {b}입니다",
    },
    "ex09.invalid": {
        "en": "not a valid assignment: every object 0..{last} must appear once in tgt_idx and pred_idx must index "
        "the {q} predictions; got pred_idx {i}, tgt_idx {j}",
        "ko": "올바른 할당이 아닙니다. 0부터 {last}까지의 객체가 tgt_idx에 한 번씩 나와야 하고, "
        "pred_idx는 예측 {q}개를 가리키는 인덱스여야 합니다. 받은 값: pred_idx {i}, tgt_idx {j}",
    },
    "ex09.shared": {
        "en": "two objects were matched to the same prediction: pred_idx {i}",
        "ko": "두 객체가 같은 예측에 매칭되었습니다: pred_idx {i}",
    },
    "ex09.not_optimal": {
        "en": "the assignment is not the cheapest: its total cost is {total:.6f}, the optimum is {best:.6f}",
        "ko": "가장 싼 할당이 아닙니다. 총비용이 {total:.6f}인데 최솟값은 {best:.6f}입니다",
    },
    # ------------------------------------------------------------------ the grader
    "grade.symlink": {
        "en": "the submission is a symbolic link, which the grader does not follow: hand in the notebook file itself",
        "ko": "제출물이 심볼릭 링크(symbolic link)입니다. 채점기는 링크를 따라가지 않습니다. 노트북 파일 자체를 "
        "제출하세요",
    },
    "grade.not_regular": {
        "en": "the submission is not a regular file (a device, a pipe or a folder): hand in the notebook file itself",
        "ko": "제출물이 일반 파일이 아닙니다(장치, 파이프 또는 폴더). 노트북 파일 자체를 제출하세요",
    },
    "grade.too_large": {
        "en": "the submission is larger than {limit} bytes",
        "ko": "제출물이 {limit}바이트보다 큽니다",
    },
    "grade.unreadable": {"en": "cannot read the submission: {error}", "ko": "제출물을 읽을 수 없습니다: {error}"},
    "grade.not_notebook": {
        "en": "not a readable notebook ({error})",
        "ko": "읽을 수 있는 노트북이 아닙니다({error})",
    },
    "grade.which_exercise": {
        "en": "cannot tell which exercise this is (got {number!r}); name it NN_topic.ipynb or pass --exercise NN",
        "ko": "어느 연습 문제인지 알 수 없습니다(받은 값 {number!r}). 파일 이름을 NN_topic.ipynb 꼴로 바꾸거나 "
        "--exercise NN을 주세요",
    },
    "grade.sandbox": {"en": "grading sandbox failure: {error}", "ko": "채점 샌드박스(sandbox) 오류: {error}"},
    "grade.untouched": {
        "en": "the notebook is the exercise as handed out",
        "ko": "노트북이 나눠 준 연습 문제 그대로입니다",
    },
    "grade.withheld": {
        "en": "passed, but {points} point(s) are withheld pending review: {flag}",
        "ko": "통과했지만, 검토가 끝날 때까지 {points}점을 보류합니다: {flag}",
    },
    "grade.also_flagged": {
        "en": " (also flagged for review: {flag})",
        "ko": " (검토 대상으로도 표시됨: {flag})",
    },
    "grade.note": {"en": " (note: {notes})", "ko": " (참고: {notes})"},
    "grade.interrupted": {"en": "grading was interrupted", "ko": "채점이 중단되었습니다"},
    "grade.why_timeout": {
        "en": "ran past the time limit and was stopped",
        "ko": "시간 제한을 넘겨 중단되었습니다",
    },
    "grade.why_protocol": {
        "en": "sent results the grader refuses ({error})",
        "ko": "채점기가 받아들이지 않는 결과를 보냈습니다({error})",
    },
    "grade.why_exit": {
        "en": "the process running your code ended abruptly (exit code {code})",
        "ko": "여러분의 코드를 실행하던 프로세스가 갑자기 끝났습니다(종료 코드 {code})",
    },
    "grade.while_running": {
        "en": "{why} while running {target}",
        "ko": "{target} 실행 중 {why}",
    },
    "grade.during": {"en": "{why} during {stage}", "ko": "{stage} 중 {why}"},
    "stage.cell": {"en": "cell {cell}", "ko": "셀 {cell} 실행"},
    "stage.startup": {"en": "start-up", "ko": "시작 단계"},
    "grade.not_defined": {"en": "{target} is not defined", "ko": "{target}: 정의되어 있지 않습니다"},
    "grade.syntax": {
        "en": " (cell {cells} does not run; first problem: {problem})",
        "ko": " (실행되지 않는 셀: {cells}. 첫 번째 문제: {problem})",
    },
    "grade.no_cell": {
        "en": " (no cell of the notebook defines it: a missing cell?)",
        "ko": " (노트북의 어느 셀도 이것을 정의하지 않습니다. 셀이 빠졌나요?)",
    },
    "grade.cell_failed": {
        "en": " (its cell {cell} failed: {error})",
        "ko": " (이것을 정의하는 셀 {cell}에서 오류가 났습니다: {error})",
    },
    "grade.cell_timeout": {"en": "timed out after {limit:g} s", "ko": "{limit:g}초 제한 시간을 넘겼습니다"},
    "grade.not_implemented": {
        "en": "{target} is not implemented yet (it raises NotImplementedError)",
        "ko": "{target}: 아직 구현되지 않았습니다(NotImplementedError를 일으킵니다)",
    },
    "grade.timeout": {
        "en": "{target} ran past the {limit:g} s limit ({where})",
        "ko": "{target}: 제한 시간 {limit:g}초를 넘겼습니다({where})",
    },
    "grade.hidden_error": {
        "en": "{target} raised an error on a {where} (it passes the visible cases? then try other shapes and "
        "values: {call} runs cases like the hidden ones)",
        "ko": "{target}: {where}에서 오류가 났습니다(공개된 경우는 통과하나요? 그렇다면 다른 모양과 값으로 시험해 "
        "보세요. 숨겨진 경우와 비슷한 경우를 실행하려면: {call})",
    },
    "grade.visible_error": {"en": "{target}: {error} ({where})", "ko": "{target}: {error} ({where})"},
    "grade.uncomparable": {
        "en": "the output could not be compared ({error})",
        "ko": "출력을 비교할 수 없었습니다({error})",
    },
    "grade.failed_case": {"en": "{where}: {problem}", "ko": "{where}: {problem}"},
    "grade.hidden_failed": {
        "en": "{target} passes the visible cases but fails hidden cases (other shapes and random inputs); "
        "{call} runs cases like them",
        "ko": "{target}: 공개된 경우는 통과하지만 숨겨진 경우(다른 모양과 무작위 입력)에서 실패합니다. "
        "비슷한 경우를 실행해 보려면: {call}",
    },
    "grade.passed": {
        "en": "passed {visible} visible and {hidden} hidden cases",
        "ko": "공개된 경우 {visible}개와 숨겨진 경우 {hidden}개를 통과했습니다",
    },
    "grade.duplicates": {
        "en": "{n} submissions of {student} for this exercise ({files}): keep one and grade again",
        "ko": "학생 {student}의 이 연습 문제 제출물이 {n}개입니다({files}). 하나만 남기고 다시 채점하세요",
    },
    "grade.internal": {"en": "internal grader error: {error}", "ko": "채점기 내부 오류: {error}"},
    "grade.lost_metadata": {
        "en": "the solution cell {cell!r} lost its metadata; matched by the names it defines in cell {cells}",
        "ko": "답 셀 {cell!r}의 메타데이터가 사라져서, 그 셀이 정의하는 이름으로 찾은 셀: {cells}",
    },
    "grade.missing_cell": {"en": "the solution cell {cell!r} is missing", "ko": "답 셀이 없습니다: {cell!r}"},
    # ------------------------------------------------------------------ feedback files
    "fb.title": {"en": "# Feedback: {exercise}", "ko": "# 피드백: {exercise}"},
    "fb.student": {"en": "Student: **{student}**  ", "ko": "학생: **{student}**  "},
    "fb.score": {"en": "Score: **{got:g} / {total:g}**", "ko": "점수: **{got:g} / {total:g}**"},
    "fb.pending": {
        "en": "{pending:g} point(s) are withheld until an instructor has reviewed your code (see the tasks marked ⚑).",
        "ko": "강사가 코드를 검토할 때까지 {pending:g}점을 보류합니다(⚑ 표시가 붙은 과제를 보세요).",
    },
    "fb.task": {
        "en": "## {icon} {task}: {points:g} / {max_points:g} ({status})",
        "ko": "## {icon} {task}: {points:g} / {max_points:g} ({status})",
    },
    "fb.flagged": {
        "en": "Your code passed, but it uses something the course asks you to avoid in graded work (listed below); "
        "an instructor will review it.",
        "ko": "코드는 통과했지만, 이 과정이 채점 과제에서 쓰지 말라고 한 것을 사용합니다(아래 목록). 강사가 검토할 "
        "것입니다.",
    },
    "status.passed": {"en": "passed", "ko": "통과"},
    "status.failed": {"en": "failed", "ko": "실패"},
    "status.error": {"en": "error", "ko": "오류"},
    "status.timeout": {"en": "timeout", "ko": "시간 초과"},
    "status.crashed": {"en": "crashed", "ko": "비정상 종료"},
    "status.not attempted": {"en": "not attempted", "ko": "시도하지 않음"},
    "status.flagged": {"en": "flagged", "ko": "검토 대기"},
    # ------------------------------------------------------------------ named mistakes (Check.mistakes)
    "mistake.found": {
        "en": "your output equals {mistake}",
        "ko": "출력이 다음과 같습니다: {mistake}",
    },
    "grade.hidden_mistake": {
        "en": "{target} fails hidden cases: {found}; {call} runs cases like them",
        "ko": "{target}: 숨겨진 경우에서 실패합니다. {found}. 비슷한 경우를 실행해 보려면: {call}",
    },
    "mistake.00.relu.keeps_negatives": {
        "en": "the negative entries kept and the positive ones set to zero: the opposite of ReLU",
        "ko": "음수는 그대로 두고 양수를 0으로 만든 결과입니다. ReLU와 정반대입니다",
    },
    "mistake.00.relu.mask": {
        "en": "1 where x is positive and 0 elsewhere: the positions of the positive entries, not their values",
        "ko": "x가 양수인 곳은 1, 나머지는 0인 결과입니다. 양수 값 자체가 아니라 양수의 위치만 표시했습니다",
    },
    "mistake.00.relu.abs": {
        "en": "the absolute value of x: negative entries must become zero, not positive",
        "ko": "x의 절댓값입니다. 음수는 양수가 아니라 0이 되어야 합니다",
    },
    "mistake.00.row_normalize.columns": {
        "en": "each column divided by its sum: the sum was taken over the wrong axis (rows are along the last axis)",
        "ko": "각 열을 그 열의 합으로 나눈 결과입니다. 합을 잘못된 축(axis)으로 구했습니다(행은 마지막 축을 따라 "
        "놓입니다)",
    },
    "mistake.00.row_normalize.zero_rows_nan": {
        "en": "the rows divided by their sums with no special case: a row of zeros divided by its sum 0 gives NaN, "
        "but it must stay zeros",
        "ko": "행을 예외 처리 없이 합으로 나눈 결과입니다. 0으로만 된 행은 합 0으로 나누면 NaN이 되는데, 0으로 "
        "남아야 합니다",
    },
    "mistake.00.row_normalize.length": {
        "en": "the rows divided by their length (the square root of the sum of squares): divide by the plain sum",
        "ko": "각 행을 길이(제곱합의 제곱근)로 나눈 결과입니다. 그냥 합으로 나누세요",
    },
    "mistake.01.softmax.axis": {
        "en": "the softmax taken along another axis, not the last one: each row along the last axis must sum to one",
        "ko": "마지막 축이 아닌 다른 축을 따라 구한 소프트맥스(softmax)입니다. 마지막 축을 따라 놓인 각 행의 합이 "
        "1이어야 합니다",
    },
    "mistake.01.softmax.unstable": {
        "en": "the softmax without subtracting the row maximum first: exp overflows to inf for large scores and "
        "inf divided by inf is NaN",
        "ko": "행의 최댓값을 먼저 빼지 않은 소프트맥스입니다. 점수가 크면 exp가 inf로 넘치고(overflow), inf를 inf로 "
        "나누면 NaN이 됩니다",
    },
    "mistake.01.softmax.no_tau": {
        "en": "the softmax of x itself: the temperature tau was ignored",
        "ko": "x 자체의 소프트맥스입니다. 온도(temperature) tau를 무시했습니다",
    },
    "mistake.01.softmax.tau_times": {
        "en": "the softmax of x multiplied by tau: the scores must be divided by the temperature",
        "ko": "x에 tau를 곱한 값의 소프트맥스입니다. 점수는 온도로 나눠야 합니다",
    },
    "mistake.01.causal_mask.inverted": {
        "en": "the inverted mask: True must mean 'may attend' (on and below the diagonal), not 'blocked'",
        "ko": "뒤집힌 마스크입니다. True는 '막힘'이 아니라 '볼 수 있음'(대각선과 그 아래)을 뜻해야 합니다",
    },
    "mistake.01.causal_mask.future": {
        "en": "the mask of the future: True on and above the diagonal, so each token sees the tokens after it "
        "instead of those before it",
        "ko": "미래를 보는 마스크입니다. 대각선과 그 위가 True라서 각 토큰이 앞의 토큰이 아니라 뒤의 토큰을 봅니다",
    },
    "mistake.01.causal_mask.no_diagonal": {
        "en": "the mask without its diagonal: a token must also be allowed to attend to itself",
        "ko": "대각선이 빠진 마스크입니다. 토큰은 자기 자신도 볼 수 있어야 합니다",
    },
    "mistake.01.masked_attention.no_scale": {
        "en": "masked attention without the scaling: the scores were not divided by √d",
        "ko": "스케일링(scaling)이 빠진 마스크를 씌운 어텐션입니다. 점수를 √d로 나누지 않았습니다",
    },
    "mistake.01.masked_attention.scale_d": {
        "en": "masked attention with the scores divided by d instead of by its square root √d",
        "ko": "점수를 √d가 아니라 d로 나눈 마스크를 씌운 어텐션입니다",
    },
    "mistake.01.masked_attention.inverted_mask": {
        "en": "attention with the mask read the wrong way round: True means the query MAY attend to the key",
        "ko": "마스크를 거꾸로 읽은 어텐션입니다. True는 쿼리가 그 키를 볼 수 있다는 뜻입니다",
    },
    "mistake.01.masked_attention.axis": {
        "en": "attention with the softmax over the queries (the second-to-last axis): each query's weights over "
        "the keys must sum to one",
        "ko": "소프트맥스를 쿼리 축(끝에서 두 번째 축)에 대해 한 어텐션입니다. 각 쿼리가 키들에 주는 가중치의 합이 "
        "1이어야 합니다",
    },
    "mistake.01.masked_attention.nan_rows": {
        "en": "attention that leaves a query with no allowed key as NaN: the softmax of a row that is all minus "
        "infinity is NaN, and such a row must get zero weights",
        "ko": "볼 수 있는 키가 없는 쿼리를 NaN으로 남긴 어텐션입니다. 전부 음의 무한대인 행의 소프트맥스는 NaN이므로 "
        "그런 행에는 가중치 0을 주어야 합니다",
    },
    "mistake.02.no_scale": {
        "en": "self-attention without the scaling: the scores were not divided by √Dk",
        "ko": "스케일링이 빠진 셀프 어텐션(self-attention)입니다. 점수를 √Dk로 나누지 않았습니다",
    },
    "mistake.02.scale_D": {
        "en": "self-attention with the scores divided by √D, the square root of the input width: the scale is "
        "√Dk, the width of the queries and keys",
        "ko": "점수를 입력 너비 D의 제곱근 √D로 나눈 셀프 어텐션입니다. 스케일은 쿼리와 키의 너비인 √Dk입니다",
    },
    "mistake.02.axis": {
        "en": "self-attention with the softmax over the queries (the second-to-last axis): each query's weights "
        "over the keys must sum to one",
        "ko": "소프트맥스를 쿼리 축(끝에서 두 번째 축)에 대해 한 셀프 어텐션입니다. 각 쿼리가 키들에 주는 가중치의 "
        "합이 1이어야 합니다",
    },
    "mistake.02.causal_future": {
        "en": "attention with the mask the wrong way round: each token sees the tokens after it instead of itself "
        "and those before it",
        "ko": "마스크가 거꾸로 된 어텐션입니다. 각 토큰이 자신과 앞의 토큰 대신 뒤의 토큰을 봅니다",
    },
    "mistake.03.split_by_reshape": {
        "en": "a plain reshape to (B, H, N, Dh): that mixes tokens and heads; the head axis must be split off the "
        "channels and then moved in front of the tokens",
        "ko": "(B, H, N, Dh)로 그냥 reshape한 결과입니다. 그러면 토큰과 헤드가 섞입니다. 헤드 축은 채널에서 갈라낸 뒤 "
        "토큰 축 앞으로 옮겨야 합니다",
    },
    "mistake.03.split_interleaved": {
        "en": "heads that take every H-th channel: head h must own the consecutive channels h·Dh to (h+1)·Dh",
        "ko": "채널을 H개 간격으로 나눠 가진 헤드입니다. 헤드 h는 연속된 채널 h·Dh부터 (h+1)·Dh까지를 가져야 합니다",
    },
    "mistake.03.merge_by_reshape": {
        "en": "a plain reshape to (B, N, D): that mixes tokens and heads; the head axis must first be moved next "
        "to the channels",
        "ko": "(B, N, D)로 그냥 reshape한 결과입니다. 그러면 토큰과 헤드가 섞입니다. 헤드 축을 먼저 채널 옆으로 "
        "옮겨야 합니다",
    },
    "mistake.03.merge_interleaved": {
        "en": "the heads' channels interleaved: head h's channels must come back as one consecutive block",
        "ko": "헤드의 채널이 번갈아 섞인 결과입니다. 헤드 h의 채널은 연속된 한 덩어리로 돌아와야 합니다",
    },
    "mistake.03.mha_scale_D": {
        "en": "multi-head attention with the scores divided by √D (the model width): each head scales by √Dh, "
        "the width of one head",
        "ko": "점수를 √D(모델 너비)로 나눈 멀티 헤드 어텐션(multi-head attention)입니다. 각 헤드는 헤드 하나의 너비인 "
        "√Dh로 스케일링합니다",
    },
    "mistake.03.mha_no_scale": {
        "en": "multi-head attention without the scaling: the scores were not divided by √Dh",
        "ko": "스케일링이 빠진 멀티 헤드 어텐션입니다. 점수를 √Dh로 나누지 않았습니다",
    },
    "mistake.03.mha_out_transposed": {
        "en": "multi-head attention with the output projection's weight used untransposed: a linear map "
        "multiplies by the transpose of its (out, in) weight",
        "ko": "출력 투영(output projection)의 가중치를 전치하지 않고 쓴 멀티 헤드 어텐션입니다. 선형 변환은 (out, in) "
        "모양 가중치의 전치를 곱합니다",
    },
    "mistake.03.mha_heads_by_reshape": {
        "en": "multi-head attention with the heads split and merged by plain reshapes, which mix tokens and heads",
        "ko": "헤드를 그냥 reshape로 나누고 합친 멀티 헤드 어텐션입니다. 그러면 토큰과 헤드가 섞입니다",
    },
    "mistake.04.sin_cos_swapped": {
        "en": "the encoding with sin and cos swapped: the even channels hold the sine, the odd ones the cosine",
        "ko": "sin과 cos가 뒤바뀐 인코딩입니다. 짝수 채널에 사인, 홀수 채널에 코사인이 와야 합니다",
    },
    "mistake.04.halves": {
        "en": "the encoding with all sines first and all cosines after: this task interleaves them, sine and "
        "cosine of one frequency side by side",
        "ko": "사인을 모두 앞에, 코사인을 모두 뒤에 둔 인코딩입니다. 이 과제는 한 주파수의 사인과 코사인을 나란히 "
        "번갈아 놓습니다",
    },
    "mistake.04.frequency": {
        "en": "the encoding with the wrong frequencies: the exponent uses the channel index 2i over D, not the "
        "pair index i over D",
        "ko": "주파수가 틀린 인코딩입니다. 지수에는 쌍의 번호 i를 D로 나눈 값이 아니라 채널 번호 2i를 D로 나눈 값이 "
        "들어갑니다",
    },
    "mistake.04.offset_transposed": {
        "en": "the transposed matrix, which shifts by -k: check the signs of the sines in each 2×2 block",
        "ko": "전치된 행렬이며, 이것은 -k만큼 옮깁니다. 각 2×2 블록에서 사인의 부호를 확인하세요",
    },
    "mistake.04.offset_frequency": {
        "en": "the matrix with the wrong frequencies: the exponent uses the channel index 2i over D, not the pair "
        "index i over D",
        "ko": "주파수가 틀린 행렬입니다. 지수에는 쌍의 번호 i를 D로 나눈 값이 아니라 채널 번호 2i를 D로 나눈 값이 "
        "들어갑니다",
    },
    "mistake.04.grid_rows_first": {
        "en": "the encoding with the row (y) half first: the column (x) angles come first, then the row angles",
        "ko": "행(y) 절반을 앞에 둔 인코딩입니다. 열(x) 각도가 먼저, 그다음 행 각도가 와야 합니다",
    },
    "mistake.04.grid_column_major": {
        "en": "the tokens in column-major order: the patches are numbered row by row, left to right",
        "ko": "토큰을 열 우선(column-major) 순서로 둔 결과입니다. 패치는 한 행씩, 왼쪽에서 오른쪽으로 번호를 매깁니다",
    },
    "mistake.05.layer_norm.unbiased": {
        "en": "layer norm with the unbiased variance (divided by D - 1): layer norm divides by D",
        "ko": "불편 분산(unbiased variance, D - 1로 나눔)을 쓴 층 정규화입니다. 층 정규화는 D로 나눕니다",
    },
    "mistake.05.layer_norm.eps_outside": {
        "en": "layer norm with eps added to the standard deviation: it goes inside the square root, with the variance",
        "ko": "eps를 표준편차에 더한 층 정규화입니다. eps는 제곱근 안에서 분산에 더해야 합니다",
    },
    "mistake.05.layer_norm.no_affine": {
        "en": "the normalised x without the learned scale and shift: multiply by weight and add bias at the end",
        "ko": "학습되는 배율과 이동이 빠진 정규화된 x입니다. 마지막에 weight를 곱하고 bias를 더하세요",
    },
    "mistake.05.block_post_norm": {
        "en": "the post-norm block: a pre-norm block normalises the input of each sublayer and adds the sublayer's "
        "output to the unnormalised input",
        "ko": "사후 정규화(post-norm) 블록입니다. 사전 정규화(pre-norm) 블록은 각 부계층의 입력을 정규화하고, 부계층의 "
        "출력을 정규화하지 않은 입력에 더합니다",
    },
    "mistake.05.block_pre_norm": {
        "en": "the pre-norm block: a post-norm block adds each sublayer's output to its input first and then "
        "normalises the sum",
        "ko": "사전 정규화 블록입니다. 사후 정규화 블록은 각 부계층의 출력을 입력에 먼저 더한 뒤 그 합을 정규화합니다",
    },
    "mistake.05.block_residual_normed": {
        "en": "a block whose residual path carries the normalised input: the residual connection adds the sublayer's "
        "output to the input as it was before the norm",
        "ko": "잔차 경로에 정규화된 입력을 쓴 블록입니다. 잔차 연결(residual connection)은 부계층의 출력을 정규화 전의 "
        "입력에 더합니다",
    },
    "mistake.05.block_activation": {
        "en": "a block whose MLP uses another activation than the exact GELU (the erf form, not the tanh "
        "approximation, not ReLU)",
        "ko": "MLP에 정확한 GELU(tanh 근사나 ReLU가 아닌 erf 형태)가 아닌 다른 활성화 함수를 쓴 블록입니다",
    },
    "mistake.06.patchify_channels_first": {
        "en": "patches with their pixels ordered (channel, row, column): inside a patch the order is row, column, "
        "then channel",
        "ko": "패치 안의 픽셀을 (채널, 행, 열) 순서로 둔 결과입니다. 패치 안의 순서는 행, 열, 그다음 채널입니다",
    },
    "mistake.06.patchify_columns_first": {
        "en": "the patches taken column by column: they go row by row, left to right, then top to bottom",
        "ko": "패치를 열 단위로 꺼낸 결과입니다. 패치는 한 행씩, 왼쪽에서 오른쪽으로, 그다음 위에서 아래로 갑니다",
    },
    "mistake.06.patchify_reshape": {
        "en": "a plain reshape of the images: that cuts rows of pixels, not P×P squares; the patch axes must be "
        "split off and moved before flattening",
        "ko": "이미지를 그냥 reshape한 결과입니다. 그러면 P×P 정사각형이 아니라 픽셀 행이 잘립니다. 패치 축을 갈라내어 "
        "옮긴 뒤에 펼쳐야 합니다",
    },
    "mistake.06.embedding_pixel_order": {
        "en": "the patches flattened in one pixel order and the kernel in another: the kernel's axes are "
        "(D, C, P, P), so flatten both the same way",
        "ko": "패치와 커널을 서로 다른 픽셀 순서로 펼친 결과입니다. 커널의 축은 (D, C, P, P)이므로 둘을 같은 방식으로 "
        "펼치세요",
    },
    "mistake.06.embedding_no_bias": {
        "en": "the patch embedding without the bias",
        "ko": "편향(bias)이 빠진 패치 임베딩입니다",
    },
    "mistake.06.vit_no_positions": {
        "en": "the logits of a ViT without the position embeddings: add them to the tokens (class token "
        "included) before the first block",
        "ko": "위치 임베딩이 빠진 ViT의 로짓입니다. 첫 블록 전에 토큰(클래스 토큰 포함)에 더하세요",
    },
    "mistake.06.vit_mean_pool": {
        "en": "the logits of the head applied to the mean of the tokens: this ViT classifies from the class "
        "token alone",
        "ko": "토큰의 평균에 헤드를 적용한 로짓입니다. 이 ViT는 클래스 토큰 하나로만 분류합니다",
    },
    "mistake.06.vit_no_final_norm": {
        "en": "the logits of a ViT without the final LayerNorm after the last block",
        "ko": "마지막 블록 뒤의 최종 LayerNorm이 빠진 ViT의 로짓입니다",
    },
    "mistake.07.inverted_key_mask": {
        "en": "cross-attention with the key mask read the wrong way round: True marks a real key, False the "
        "padding (PyTorch's key_padding_mask is the opposite)",
        "ko": "키 마스크를 거꾸로 읽은 크로스 어텐션(cross-attention)입니다. True는 실제 키, False는 "
        "패딩입니다(PyTorch의 key_padding_mask는 그 반대입니다)",
    },
    "mistake.07.scale_D": {
        "en": "cross-attention with the scores divided by √D (the model width): each head scales by √Dh",
        "ko": "점수를 √D(모델 너비)로 나눈 크로스 어텐션입니다. 각 헤드는 √Dh로 스케일링합니다",
    },
    "mistake.07.no_scale": {
        "en": "cross-attention without the scaling: the scores were not divided by √Dh",
        "ko": "스케일링이 빠진 크로스 어텐션입니다. 점수를 √Dh로 나누지 않았습니다",
    },
    "mistake.07.pool_no_scale": {
        "en": "attention pooling without the scaling: the scores were not divided by √D",
        "ko": "스케일링이 빠진 어텐션 풀링입니다. 점수를 √D로 나누지 않았습니다",
    },
    "mistake.07.pool_axis": {
        "en": "attention pooling with the softmax over the queries: each query's weights over the tokens must "
        "sum to one",
        "ko": "소프트맥스를 쿼리 축에 대해 한 어텐션 풀링입니다. 각 쿼리가 토큰들에 주는 가중치의 합이 1이어야 합니다",
    },
    "mistake.08.no_skips": {
        "en": "the Mixer block without its skip connections: each MLP's output is added to its input",
        "ko": "스킵 연결(skip connection)이 빠진 믹서 블록입니다. 각 MLP의 출력은 그 입력에 더해집니다",
    },
    "mistake.08.channels_first": {
        "en": "the Mixer block with channel mixing before token mixing: the token-mixing MLP comes first",
        "ko": "채널 믹싱을 토큰 믹싱보다 먼저 한 믹서 블록입니다. 토큰 믹싱 MLP가 먼저 옵니다",
    },
    "mistake.09.box_full_size": {
        "en": "corners a whole width and height away from the centre: the centre lies half a width from each side",
        "ko": "중심에서 너비와 높이 전체만큼 떨어진 모서리입니다. 중심은 각 변에서 너비의 절반만큼 떨어져 있습니다",
    },
    "mistake.09.box_corner": {
        "en": "boxes whose centre was read as the top-left corner: (cx, cy) is the centre of the box",
        "ko": "중심을 왼쪽 위 모서리로 읽은 박스입니다. (cx, cy)는 박스의 중심입니다",
    },
    "mistake.10.concat_order": {
        "en": "the stage with the upsampled map first in the concatenation: the skip's channels come first, then "
        "the upsampled ones",
        "ko": "연결(concatenation)에서 업샘플링한 맵을 먼저 둔 결과입니다. 스킵의 채널이 먼저, 그다음 업샘플링한 "
        "채널이 옵니다",
    },
    "mistake.10.dice_absent": {
        "en": "a number for a class that occurs in neither map: its Dice score is undefined and must be NaN",
        "ko": "두 맵 어디에도 없는 클래스에 숫자를 준 결과입니다. 그 클래스의 Dice 점수는 정의되지 않으므로 NaN이어야 "
        "합니다",
    },
    # ------------------------------------------------------------------ hints: 1 = nudge, 2 = more detail
    "hint.00.relu.1": {
        "en": "ReLU keeps positive entries and replaces negative ones by 0; keep the input's shape and dtype.",
        "ko": "ReLU는 양수는 그대로 두고 음수는 0으로 바꿉니다. 입력의 모양(shape)과 dtype을 그대로 유지하세요.",
    },
    "hint.00.relu.2": {
        "en": "Compare each entry with zero element by element, no loop needed; if the zero you compare with is not "
        "of x's dtype, the result may come back in another dtype.",
        "ko": "각 원소를 0과 원소별로 비교하세요. 반복문은 필요 없습니다. 비교에 쓰는 0이 x와 같은 dtype이 아니면 "
        "결과의 dtype이 바뀔 수 있습니다.",
    },
    "hint.00.row_normalize.1": {
        "en": "Divide each row by its own sum, and think about what a row of zeros should give.",
        "ko": "각 행을 그 행의 합으로 나누세요. 0으로만 된 행은 무엇을 돌려줘야 할지 생각해 보세요.",
    },
    "hint.00.row_normalize.2": {
        "en": "Sum over the last axis keeping that axis (keepdim), so the sums broadcast against the rows. A row of "
        "zeros has sum 0 and dividing by it gives NaN: give that row zeros instead (torch.where picks "
        "between two results).",
        "ko": "마지막 축을 따라 합을 구하되 그 축을 남겨(keepdim) 합이 각 행에 브로드캐스트되게 하세요. 0으로만 된 "
        "행은 합이 0이라 나누면 NaN이 되므로, 그 행에는 0을 주세요(torch.where로 두 결과 중 하나를 고를 수 "
        "있습니다).",
    },
    "hint.01.softmax.1": {
        "en": "Two things to get right: the temperature tau divides the scores, and large scores must not overflow "
        "exp() (inf / inf is NaN).",
        "ko": "두 가지를 확인하세요. 온도(temperature) tau로 점수를 나누는지, 그리고 점수가 클 때 exp()가 넘치지"
        "(overflow) 않는지(inf / inf는 NaN입니다).",
    },
    "hint.01.softmax.2": {
        "en": "Divide by tau first. Softmax does not change when the same number is subtracted from every score of "
        "a row, so subtract each row's maximum (along the last axis, keeping that axis) before exp(), then "
        "divide by the sum along the same last axis.",
        "ko": "먼저 tau로 나누세요. 한 행의 모든 점수에서 같은 수를 빼도 소프트맥스(softmax)는 바뀌지 않으므로, "
        "exp() 전에 각 행의 최댓값(마지막 축을 따라, 그 축을 남겨서)을 빼고, 같은 마지막 축을 따라 구한 합으로 "
        "나누세요.",
    },
    "hint.01.causal_mask.1": {
        "en": "Query i may look at keys 0..i and not at later ones; the result is a bool tensor of shape (n, n).",
        "ko": "쿼리 i는 키 0..i만 볼 수 있고 그 뒤의 키는 볼 수 없습니다. 결과는 모양이 (n, n)인 bool 텐서입니다.",
    },
    "hint.01.causal_mask.2": {
        "en": "True on and below the diagonal (key index at most the query index), False above it: a "
        "lower-triangular matrix of ones turned into bool (see torch.tril).",
        "ko": "대각선과 그 아래(키 인덱스가 쿼리 인덱스 이하)는 True, 대각선 위는 False입니다. 1로 채운 하삼각 "
        "행렬을 bool로 바꾼 것과 같습니다(torch.tril 참고).",
    },
    "hint.01.masked_attention.1": {
        "en": "Compare your steps with the lecture's: are the scores scaled by 1/√d, do masked keys get exactly zero "
        "weight, is the softmax over the keys (last axis), and what happens to a query that may attend to no "
        "key?",
        "ko": "강의의 단계와 하나씩 비교해 보세요. 점수를 1/√d로 스케일링했나요? 마스크된 키의 가중치가 정확히 "
        "0인가요? 소프트맥스를 키 축(마지막 축)에 대해 했나요? 어떤 키도 볼 수 없는 쿼리는 어떻게 되나요?",
    },
    "hint.01.masked_attention.2": {
        "en": "Divide the query-key dot products by the square root of d (the key width). Where the mask is False "
        "the score must be minus infinity before the softmax. A row whose keys are all masked is all minus "
        "infinity and its softmax is NaN: give that row zero weights (any() over the last axis finds such "
        "rows). The output is the weights times v; return (out, weights).",
        "ko": "쿼리와 키의 내적(dot product)을 d(키 너비)의 제곱근으로 나누세요. 마스크가 False인 곳의 점수는 "
        "소프트맥스 전에 음의 무한대여야 합니다. 모든 키가 마스크된 행은 전부 음의 무한대라 소프트맥스가 NaN이 "
        "되므로, 그런 행의 가중치는 모두 0으로 주세요(마지막 축에 대한 any()로 찾을 수 있습니다). 출력은 "
        "가중치와 v의 곱이고, (out, weights)를 돌려줍니다.",
    },
    "hint.02.self_attention.1": {
        "en": "Queries, keys and values all come from the same x through their own weight matrix, the scores are "
        "scaled by 1/√Dk, and nothing may depend on a token's position.",
        "ko": "쿼리, 키, 값은 모두 같은 x에서 각자의 가중치 행렬로 만듭니다. 점수는 1/√Dk로 스케일링하고, 어떤 것도 "
        "토큰의 위치에 의존하면 안 됩니다.",
    },
    "hint.02.self_attention.2": {
        "en": "Multiply x by w_q, w_k and w_v on the right. Transpose only the last two axes of the keys so the "
        "batch axis stays first, divide the scores by the square root of Dk (the key width, not D), take the "
        "softmax over the last axis and weight the values with it: the output has shape (B, N, Dv).",
        "ko": "x의 오른쪽에 w_q, w_k, w_v를 곱하세요. 배치 축이 맨 앞에 남도록 키의 마지막 두 축만 전치(transpose)"
        "하고, 점수를 Dk(D가 아니라 키 너비)의 제곱근으로 나누고, 마지막 축에 대해 소프트맥스를 취한 뒤 그 "
        "가중치로 값을 더하세요. 출력의 모양은 (B, N, Dv)입니다.",
    },
    "hint.02.causal_self_attention.1": {
        "en": "Same as self_attention, but token i must not see tokens i+1, ..., N-1: block those scores before the "
        "softmax.",
        "ko": "self_attention과 같지만, 토큰 i는 토큰 i+1, ..., N-1을 보면 안 됩니다. 소프트맥스 전에 그 점수를 "
        "막으세요.",
    },
    "hint.02.causal_self_attention.2": {
        "en": "Build a lower-triangular bool mask of shape (N, N) and fill the scores above the diagonal (a key "
        "after its query) with minus infinity, e.g. with masked_fill; the softmax then gives them zero weight.",
        "ko": "(N, N) 모양의 하삼각 bool 마스크를 만들고, 대각선 위의 점수(쿼리보다 뒤에 있는 키)를 음의 무한대로 "
        "채우세요(예: masked_fill). 그러면 소프트맥스가 그 자리에 가중치 0을 줍니다.",
    },
    "hint.03.split_heads.1": {
        "en": "Head h owns the contiguous channels h*Dh to (h+1)*Dh, and the head axis must come before the token "
        "axis: a reshape alone mixes tokens and heads.",
        "ko": "헤드 h는 연속된 채널 h*Dh부터 (h+1)*Dh까지를 가집니다. 헤드 축은 토큰 축보다 앞에 와야 합니다. "
        "reshape만 하면 토큰과 헤드가 섞입니다.",
    },
    "hint.03.split_heads.2": {
        "en": "First view (B, N, D) as (B, N, H, Dh), splitting only the last axis; then swap the token and head "
        "axes to get (B, H, N, Dh).",
        "ko": "먼저 마지막 축만 나눠 (B, N, D)를 (B, N, H, Dh)로 보세요. 그다음 토큰 축과 헤드 축을 맞바꿔 "
        "(B, H, N, Dh)를 만드세요.",
    },
    "hint.03.merge_heads.1": {
        "en": "merge_heads must undo split_heads: the channels of one token must end up side by side, head by head.",
        "ko": "merge_heads는 split_heads를 되돌려야 합니다. 한 토큰의 채널들이 헤드 순서대로 나란히 놓여야 합니다.",
    },
    "hint.03.merge_heads.2": {
        "en": "Move the head axis back next to the head width, (B, H, N, Dh) -> (B, N, H, Dh), and only then "
        "flatten the last two axes into D (after a transpose the tensor is not contiguous: reshape copes "
        "with that, view does not).",
        "ko": "헤드 축을 헤드 너비 옆으로 되돌린 다음((B, H, N, Dh) -> (B, N, H, Dh)), 그때 마지막 두 축을 D로 "
        "펼치세요(전치한 텐서는 메모리에서 연속적이지 않습니다. reshape는 괜찮지만 view는 실패합니다).",
    },
    "hint.03.mha_forward.1": {
        "en": "Check the scaling of the scores: each head scales by 1/√Dh, its own width, not by 1/√D. Check also "
        "the order of the stacked projection rows and where the output projection comes.",
        "ko": "점수의 스케일링을 확인하세요. 각 헤드는 1/√D가 아니라 자기 너비 Dh로 1/√Dh를 씁니다. 쌓인 투영 "
        "가중치의 행 순서와 출력 투영(output projection)의 위치도 확인하세요.",
    },
    "hint.03.mha_forward.2": {
        "en": "Project once with in_proj_weight (its rows are W^Q, then W^K, then W^V; a linear map multiplies by "
        "the transposed weight and adds the bias), split each of q, k, v into heads, take the softmax over "
        "the keys, merge the heads and only then apply the output projection.",
        "ko": "in_proj_weight로 한 번에 투영하세요(행은 W^Q, W^K, W^V 순서입니다. 선형 변환은 전치한 가중치를 곱하고 "
        "편향을 더합니다). q, k, v를 각각 헤드로 나누고, 키 축에 대해 소프트맥스를 취하고, 헤드를 합친 다음에야 "
        "출력 투영을 적용하세요.",
    },
    "hint.04.sinusoidal.1": {
        "en": "Even columns hold sines and odd columns cosines (interleaved), and the frequency exponent uses the "
        "even column index 2i, not i.",
        "ko": "짝수 열에는 사인, 홀수 열에는 코사인이 번갈아 들어갑니다. 주파수의 지수에는 i가 아니라 짝수 열 "
        "인덱스 2i를 씁니다.",
    },
    "hint.04.sinusoidal.2": {
        "en": "Frequency w_i is base to the power -2i/D. Make the positions a column (N, 1) and the frequencies a "
        "row (1, D/2) so that their product broadcasts to (N, D/2); write the sines into columns 0, 2, 4, ... "
        "and the cosines into columns 1, 3, 5, ...",
        "ko": "주파수 w_i는 base의 -2i/D 제곱입니다. 위치를 열 (N, 1)로, 주파수를 행 (1, D/2)로 만들어 곱이 "
        "(N, D/2)로 브로드캐스트되게 하고, 사인은 0, 2, 4, ... 열에, 코사인은 1, 3, 5, ... 열에 쓰세요.",
    },
    "hint.04.offset_matrix.1": {
        "en": "M_k must not depend on the position p: each (sin, cos) pair is rotated by an angle that depends only "
        "on k and the pair's frequency.",
        "ko": "M_k는 위치 p에 의존하면 안 됩니다. 각 (sin, cos) 쌍은 k와 그 쌍의 주파수에만 의존하는 각도만큼 "
        "회전합니다.",
    },
    "hint.04.offset_matrix.2": {
        "en": "Apply the angle-sum formulas of sin(a+b) and cos(a+b) to one pair: the 2x2 block of frequency w_i "
        "holds cos(k w_i) on its diagonal and +sin(k w_i), -sin(k w_i) off it. Check the signs on a small "
        "example with k of 1.",
        "ko": "sin(a+b)와 cos(a+b)의 덧셈 정리를 한 쌍에 적용해 보세요. 주파수 w_i의 2x2 블록은 대각선에 "
        "cos(k w_i), 대각선 밖에 +sin(k w_i)와 -sin(k w_i)를 가집니다. k가 1인 작은 예에서 부호를 확인하세요.",
    },
    "hint.04.sincos_2d.1": {
        "en": "Tokens are in row-major order, the encoding uses D/4 frequencies, and the column (x) half comes "
        "before the row (y) half.",
        "ko": "토큰은 행 우선(row-major) 순서이고, 인코딩은 주파수 D/4개를 씁니다. 열(x) 부분이 행(y) 부분보다 "
        "앞에 옵니다.",
    },
    "hint.04.sincos_2d.2": {
        "en": "Token t sits at row t // grid_w and column t % grid_w (torch.meshgrid with indexing 'ij' gives this "
        "order). With omega_i the temperature to the power -i/(D/4), concatenate the sines of x omega, the "
        "cosines of x omega, then the sines and the cosines of y omega.",
        "ko": "토큰 t는 t // grid_w 행, t % grid_w 열에 있습니다(indexing이 'ij'인 torch.meshgrid가 이 순서를 "
        "줍니다). omega_i를 temperature의 -i/(D/4) 제곱이라 할 때, x omega의 사인, x omega의 코사인, 그다음 "
        "y omega의 사인과 코사인을 이어 붙이세요.",
    },
    "hint.05.layer_norm.1": {
        "en": "Normalise each token over its last axis with the biased variance (divide by D, not D-1), and keep "
        "eps inside the square root.",
        "ko": "각 토큰을 마지막 축에 대해 정규화하세요. 분산은 편향 분산(D-1이 아니라 D로 나눔)을 쓰고, eps는 "
        "제곱근 안에 넣으세요.",
    },
    "hint.05.layer_norm.2": {
        "en": "Subtract the mean over the last axis, divide by the square root of the variance plus eps (unbiased "
        "set to False; both keep the last axis), then multiply by weight and add bias.",
        "ko": "마지막 축의 평균을 빼고, 분산에 eps를 더한 값의 제곱근으로 나누세요(unbiased는 False, 둘 다 마지막 "
        "축을 남겨서). 그다음 weight를 곱하고 bias를 더하세요.",
    },
    "hint.05.pre_norm_block.1": {
        "en": "Pre-norm: the layer norm sits inside each residual branch, and the residual adds the un-normalised "
        "x. Nothing is normalised after the add.",
        "ko": "사전 정규화(pre-norm): 층 정규화는 각 잔차 가지 안에 있고, 잔차 연결(residual connection)은 "
        "정규화하지 않은 x를 더합니다. 더한 뒤에는 아무것도 정규화하지 않습니다.",
    },
    "hint.05.pre_norm_block.2": {
        "en": "First branch: add to x the attention of norm1 of x. Second branch: add to that result the MLP "
        "(linear1, exact GELU, linear2) of norm2 of it. The attention is exercise 03's multi-head forward with "
        "these weights.",
        "ko": "첫 번째 가지: x에 'norm1(x)의 어텐션'을 더합니다. 두 번째 가지: 그 결과에 '그 결과의 norm2에 대한 "
        "MLP(linear1, 정확한 GELU, linear2)'를 더합니다. 어텐션은 이 가중치를 쓴 연습 문제 03의 멀티 헤드 "
        "어텐션입니다.",
    },
    "hint.05.post_norm_block.1": {
        "en": "Post-norm (the original Transformer): add first, then normalise; the attention and the MLP see the "
        "un-normalised input of their sub-layer.",
        "ko": "사후 정규화(post-norm, 원래의 트랜스포머): 먼저 더하고 그다음 정규화합니다. 어텐션과 MLP는 자기 "
        "부계층에 들어온, 정규화되지 않은 입력을 받습니다.",
    },
    "hint.05.post_norm_block.2": {
        "en": "First sub-layer: norm1 of (x plus the attention of x). Second: norm2 of (that result plus the MLP of "
        "that result). The block's output is what norm2 gives.",
        "ko": "첫 번째 부계층: norm1(x + x의 어텐션). 두 번째: norm2(그 결과 + 그 결과의 MLP). 블록의 출력은 "
        "norm2가 내놓는 값입니다.",
    },
    "hint.06.patchify.1": {
        "en": "Patches go row by row (left to right, top to bottom), and inside a patch the pixels are ordered "
        "(row, column, channel): the channel axis comes last.",
        "ko": "패치(patch)는 행 단위로(왼쪽에서 오른쪽, 위에서 아래) 나열하고, 패치 안의 픽셀은 (행, 열, 채널) "
        "순서입니다. 채널 축이 맨 뒤에 옵니다.",
    },
    "hint.06.patchify.2": {
        "en": "One einops.rearrange with named axes does it: split H into (grid row, row inside the patch) and W "
        "into (grid column, column inside the patch); the two grid axes, row first, become the token axis "
        "and the three inside-patch axes the feature axis.",
        "ko": "이름 붙인 축으로 einops.rearrange 한 번이면 됩니다. H를 (격자 행, 패치 안의 행)으로, W를 (격자 열, "
        "패치 안의 열)로 나누면, 두 격자 축(행 먼저)은 토큰 축이, 패치 안의 세 축은 특징 축이 됩니다.",
    },
    "hint.06.patch_embedding.1": {
        "en": "Each patch is seen once (a convolution whose stride is its kernel size), and the output keeps "
        "patchify's patch order with the embedding axis last.",
        "ko": "각 패치를 한 번씩만 봅니다(보폭(stride)이 커널 크기와 같은 합성곱). 출력은 patchify와 같은 패치 "
        "순서이고 임베딩 축이 맨 뒤에 옵니다.",
    },
    "hint.06.patch_embedding.2": {
        "en": "The convolution's output (B, D, h, w) has the embedding axis first and the grid last: flatten the "
        "grid row by row and move D last. With patchify and a matrix product instead, flatten the kernel in "
        "the same (row, column, channel) order as the patches.",
        "ko": "합성곱의 출력 (B, D, h, w)는 임베딩 축이 앞에, 격자가 뒤에 있습니다. 격자를 행 단위로 펼치고 D를 맨 "
        "뒤로 옮기세요. patchify와 행렬 곱으로 한다면, 커널도 패치와 같은 (행, 열, 채널) 순서로 펼쳐야 합니다.",
    },
    "hint.06.vit_forward.1": {
        "en": "Go through the lecture's steps in order and check what is easy to miss: the class token and the "
        "positions, pre-norm blocks with eps 1e-6, heads of width D // num_heads, the exact GELU, and the head "
        "reading token 0 after the final norm.",
        "ko": "강의의 단계를 순서대로 따라가며 놓치기 쉬운 부분을 확인하세요. 클래스 토큰(class token)과 위치 "
        "임베딩, eps가 1e-6인 사전 정규화 블록, 너비가 D // num_heads인 헤드, 정확한(exact) GELU, 그리고 "
        "마지막 정규화 뒤에 토큰 0을 읽는 분류 헤드.",
    },
    "hint.06.vit_forward.2": {
        "en": "Patch embedding (B, N, D); params['cls_token'], expanded to the batch, in front; add "
        "params['pos_embed']; for each block (count them from the keys) a pre-norm attention branch and a "
        "pre-norm MLP branch, with the scores scaled by 1/√(D/H); then the final LayerNorm, token 0 and the "
        "linear head.",
        "ko": "패치 임베딩 (B, N, D); 배치 크기로 늘린 params['cls_token']을 맨 앞에 붙이고; params['pos_embed']를 "
        "더하고; 블록마다(개수는 키에서 세세요) 사전 정규화 어텐션 가지와 사전 정규화 MLP 가지를 적용하되 점수는 "
        "1/√(D/H)로 스케일링; 그다음 마지막 LayerNorm, 토큰 0, 선형 분류 헤드.",
    },
    "hint.06.train_vit.1": {
        "en": "Start from ViTConfig.tiny_digits() and train with vitcourse.train.fit for a fixed number of steps; a "
        "ViT has no built-in shift invariance, so light augmentation helps.",
        "ko": "ViTConfig.tiny_digits()에서 시작해 vitcourse.train.fit으로 정해진 스텝 수만큼 학습하세요. ViT에는 "
        "이동 불변성이 내장되어 있지 않으므로 가벼운 데이터 증강(data augmentation)이 도움이 됩니다.",
    },
    "hint.06.train_vit.2": {
        "en": "AdamW with warm-up and a cosine schedule, batches of 64 and a learning rate about 2e-3; "
        "vitcourse.augment.random_affine as augmentation closes most of the gap. Return the model itself.",
        "ko": "AdamW, 워밍업(warm-up)과 코사인 스케줄, 배치 64, 학습률 2e-3 안팎을 쓰세요. "
        "vitcourse.augment.random_affine 증강이 차이의 대부분을 메웁니다. 모델 자체를 돌려주세요.",
    },
    "hint.07.cross_attention.1": {
        "en": "Queries come from `query`, keys and values from `context` (another length Nk and width Dc); padded "
        "keys (key_mask False) must get zero weight, and each head scales by 1/√Dh.",
        "ko": "쿼리는 `query`에서, 키와 값은 `context`(길이 Nk와 너비 Dc가 다름)에서 나옵니다. 패딩된 키"
        "(key_mask가 False)의 가중치는 0이어야 하고, 각 헤드는 1/√Dh로 스케일링합니다.",
    },
    "hint.07.cross_attention.2": {
        "en": "Split q, k and v into heads, so that the scores are (B, H, Nq, Nk). Broadcast the mask as "
        "(B, 1, 1, Nk) and make the scores of padded keys minus infinity before the softmax over the keys "
        "(last axis); then merge the heads and apply w_o (a linear map multiplies by the transposed weight).",
        "ko": "q, k, v를 헤드로 나누면 점수는 (B, H, Nq, Nk)입니다. 마스크를 (B, 1, 1, Nk)로 브로드캐스트해서, 키 "
        "축(마지막 축)에 대한 소프트맥스 전에 패딩된 키의 점수를 음의 무한대로 만드세요. 그다음 헤드를 합치고 "
        "w_o를 적용하세요(선형 변환은 전치한 가중치를 곱합니다).",
    },
    "hint.07.attention_pool.1": {
        "en": "The learned queries are shared by every image, the softmax runs over the N tokens, and the scores "
        "are scaled by 1/√D.",
        "ko": "학습된 쿼리(learned queries)는 모든 이미지가 함께 씁니다. 소프트맥스는 N개 토큰에 대해 하고, 점수는 "
        "1/√D로 스케일링합니다.",
    },
    "hint.07.attention_pool.2": {
        "en": "Keys and values are the tokens times the transposed w_k and w_v. Score every query against every "
        "token of each image (torch.einsum, or the queries broadcast as (1, Q, D)), take the softmax over the "
        "last axis and weight the values with it. Return (pooled (B, Q, D), attn (B, Q, N)).",
        "ko": "키와 값은 토큰에 전치한 w_k, w_v를 곱한 것입니다. 각 이미지의 모든 토큰에 대해 모든 쿼리의 점수를 "
        "구하고(torch.einsum, 또는 쿼리를 (1, Q, D)로 브로드캐스트), 마지막 축에 대해 소프트맥스를 취한 뒤 그 "
        "가중치로 값을 더하세요. (pooled (B, Q, D), attn (B, Q, N))을 돌려줍니다.",
    },
    "hint.08.mixer_block.1": {
        "en": "Token mixing first, then channel mixing on its result. The token MLP works across the N patches, so "
        "it needs the patch axis last; each mixing step is a residual branch with its own LayerNorm.",
        "ko": "토큰 믹싱(token mixing)을 먼저 하고, 그 결과에 채널 믹싱(channel mixing)을 합니다. 토큰 MLP는 N개 "
        "패치에 걸쳐 작동하므로 패치 축이 맨 뒤에 있어야 하고, 믹싱 단계마다 자기 LayerNorm이 있는 잔차 "
        "가지입니다.",
    },
    "hint.08.mixer_block.2": {
        "en": "Normalise x over D with norm1, transpose to (B, D, N), apply the token MLP (N to S to N, exact "
        "GELU), transpose back and add to x. Then add to that result the channel MLP (D to C to D) of its "
        "norm2. LayerNorm's eps is 1e-6.",
        "ko": "norm1으로 x를 D에 대해 정규화하고, (B, D, N)으로 전치하고, 토큰 MLP(N에서 S로, 다시 N으로, 정확한 "
        "GELU)를 적용한 뒤 다시 전치해 x에 더하세요. 그다음 그 결과에 '그 결과의 norm2에 대한 채널 MLP(D에서 "
        "C로, 다시 D로)'를 더하세요. LayerNorm의 eps는 1e-6입니다.",
    },
    "hint.08.train_mixer.1": {
        "en": "Build a small MLP-Mixer for 16x16 images, train it for a fixed number of steps with "
        "vitcourse.train.fit and return the model.",
        "ko": "16x16 이미지용 작은 MLP-믹서(MLP-Mixer)를 만들어 vitcourse.train.fit으로 정해진 스텝 수만큼 학습하고, "
        "모델을 돌려주세요.",
    },
    "hint.08.train_mixer.2": {
        "en": "4x4 patches (16 tokens), width 64 and a few blocks are enough; AdamW with warm-up and a cosine "
        "schedule, a learning rate around 1e-3 to 3e-3 and about 500 steps of batch 64; a small random shift "
        "of the images (augmentation) helps.",
        "ko": "4x4 패치(토큰 16개), 너비 64, 블록 몇 개면 충분합니다. AdamW와 워밍업 + 코사인 스케줄, 학습률 "
        "1e-3~3e-3, 배치 64로 약 500 스텝을 쓰세요. 이미지를 조금씩 무작위로 옮기는 증강이 도움이 됩니다.",
    },
    "hint.09.box_cxcywh_to_xyxy.1": {
        "en": "The corners are the centre minus and plus half the size, and any leading axes must be kept.",
        "ko": "모서리는 중심에서 크기의 절반을 빼고 더한 것입니다. 앞쪽 축들은 그대로 유지해야 합니다.",
    },
    "hint.09.box_cxcywh_to_xyxy.2": {
        "en": "The output order is x0, y0, x1, y1: the top-left corner, then the bottom-right one, each from the "
        "centre and half the width or height. Work on the last axis only (unbind(-1), then stack along the "
        "last axis), so that boxes with any leading shape work.",
        "ko": "출력 순서는 x0, y0, x1, y1, 즉 왼쪽 위 모서리 다음 오른쪽 아래 모서리이고, 각각 중심과 너비나 높이의 "
        "절반으로 구합니다. 마지막 축만 다루세요(unbind(-1) 후 마지막 축을 따라 stack). 그래야 앞쪽 모양이 "
        "어떻든 동작합니다.",
    },
    "hint.09.generalized_box_iou.1": {
        "en": "The result is pairwise, (N, M); boxes that do not overlap have intersection 0, and GIoU subtracts "
        "from the IoU the share of the enclosing box that the union does not cover.",
        "ko": "결과는 모든 쌍에 대한 (N, M)입니다. 겹치지 않는 상자의 교집합은 0이고, GIoU는 IoU에서 둘러싸는 상자 "
        "중 합집합이 덮지 않는 비율을 뺍니다.",
    },
    "hint.09.generalized_box_iou.2": {
        "en": "Broadcast the first boxes as (N, 1, 4) against the second as (1, M, 4). The intersection runs from "
        "the larger top-left corner to the smaller bottom-right one, sides clamped at 0; the union is the two "
        "areas minus the intersection; the enclosing box runs from the smaller top-left to the larger "
        "bottom-right corner.",
        "ko": "첫 번째 상자들을 (N, 1, 4)로, 두 번째를 (1, M, 4)로 브로드캐스트하세요. 교집합은 더 큰 왼쪽 위 "
        "모서리부터 더 작은 오른쪽 아래 모서리까지이고, 변의 길이는 0 아래로 내려가지 않게 자릅니다. 합집합은 두 "
        "넓이의 합에서 교집합을 뺀 것이고, 둘러싸는 상자는 더 작은 왼쪽 위 모서리부터 더 큰 오른쪽 아래 "
        "모서리까지입니다.",
    },
    "hint.09.hungarian_match.1": {
        "en": "Build one (Q, T) cost matrix from three weighted terms (class probability, L1 box distance, GIoU, "
        "with signs that make a good match cheap) and solve the assignment on it; an image without objects "
        "gives two empty index tensors.",
        "ko": "세 항(클래스 확률, 상자의 L1 거리, GIoU)에 가중치를 곱해 (Q, T) 비용 행렬(cost matrix) 하나를 "
        "만들고(좋은 매칭일수록 비용이 작아지도록 부호를 정하세요), 그 위에서 할당 문제를 푸세요. 객체가 없는 "
        "이미지는 빈 인덱스 텐서 두 개를 돌려줍니다.",
    },
    "hint.09.hungarian_match.2": {
        "en": "The class term is minus cost_class times the softmax probability of each object's label; the box "
        "term is cost_bbox times the L1 distance of the cxcywh boxes (torch.cdist with p 1); the GIoU term is "
        "minus cost_giou times the GIoU of the boxes in xyxy. scipy's linear_sum_assignment solves it; "
        "return two int64 tensors (prediction indices, object indices).",
        "ko": "클래스 항은 각 객체 레이블의 소프트맥스 확률에 -cost_class를 곱한 것, 상자 항은 cxcywh 상자 사이의 L1 "
        "거리(p가 1인 torch.cdist)에 cost_bbox를 곱한 것, GIoU 항은 xyxy로 바꾼 상자의 GIoU에 -cost_giou를 "
        "곱한 것입니다. scipy의 linear_sum_assignment로 풀고, int64 텐서 두 개(예측 인덱스, 객체 인덱스)를 "
        "돌려주세요.",
    },
    "hint.09.set_loss.1": {
        "en": "Match each image first with your hungarian_match; unmatched predictions are trained towards the "
        "'no object' class, whose class weight is eos_coef, and the box losses are averaged over the number of "
        "objects.",
        "ko": "먼저 각 이미지를 여러분의 hungarian_match로 매칭하세요. 매칭되지 않은 예측은 '객체 없음(no object)' "
        "클래스를 목표로 하고 그 클래스의 가중치는 eos_coef입니다. 상자 손실은 객체 수로 평균합니다.",
    },
    "hint.09.set_loss.2": {
        "en": "Cross-entropy over all B*Q predictions, target class C ('no object') for the unmatched ones, with a "
        "class weight vector of ones except eos_coef for class C (F.cross_entropy with a weight takes a "
        "weighted mean). L1 and 1 - GIoU are summed over the matched pairs and divided by the number of "
        "objects in the batch (at least 1).",
        "ko": "B*Q개 예측 전체에 대한 교차 엔트로피(cross-entropy)이고, 매칭되지 않은 예측의 목표 클래스는 C('객체 "
        "없음')입니다. 클래스 가중치 벡터는 C만 eos_coef이고 나머지는 1입니다(weight를 준 F.cross_entropy는 "
        "가중 평균을 냅니다). L1과 1 - GIoU는 매칭된 쌍에 대해 더한 뒤 배치의 객체 수(최소 1)로 나눕니다.",
    },
    "hint.10.double_conv.1": {
        "en": "Two 3x3 convolutions, each followed by a ReLU; the padding must keep H and W.",
        "ko": "3x3 합성곱 두 번이고, 각각 뒤에 ReLU가 옵니다. 패딩(padding)은 H와 W를 유지해야 합니다.",
    },
    "hint.10.double_conv.2": {
        "en": "F.conv2d with padding 1 keeps the size for a 3x3 kernel; apply F.relu after the first and after the "
        "second convolution (the second ReLU is easy to forget).",
        "ko": "3x3 커널에서는 padding이 1인 F.conv2d가 크기를 유지합니다. 첫 번째와 두 번째 합성곱 뒤에 모두 F.relu를 "
        "적용하세요(두 번째 ReLU를 잊기 쉽습니다).",
    },
    "hint.10.decoder_stage.1": {
        "en": "Up-sample, zero-pad to the skip's size with the odd pixel at the bottom or right, and put the skip "
        "first when concatenating on the channel axis, before the double convolution.",
        "ko": "업샘플링하고, 스킵(skip)의 크기에 맞게 0으로 패딩하되 홀수로 남는 픽셀은 아래나 오른쪽에 두고, 채널 "
        "축으로 이어 붙일 때 스킵을 먼저 놓은 뒤 이중 합성곱을 적용하세요.",
    },
    "hint.10.decoder_stage.2": {
        "en": "F.conv_transpose2d with stride 2 doubles h and w. F.pad takes [left, right, top, bottom]: put half "
        "the missing rows (rounded down) on top and the rest at the bottom, the same for the columns; then "
        "concatenate the skip and the up-sampled tensor along the channels and apply your double_conv.",
        "ko": "stride가 2인 F.conv_transpose2d는 h와 w를 두 배로 만듭니다. F.pad는 [왼쪽, 오른쪽, 위, 아래] 순서로 "
        "받습니다. 모자란 행의 절반(내림)을 위에, 나머지를 아래에 넣고, 열도 같은 방식으로 하세요. 그다음 스킵과 "
        "업샘플링한 텐서를 채널 축으로 이어 붙이고 여러분의 double_conv를 적용하세요.",
    },
    "hint.10.dice_score.1": {
        "en": "Dice is per class, counted over every pixel of the batch at once: twice the overlap divided by the "
        "sum of the two sizes, NaN for a class absent from both.",
        "ko": "다이스 점수(Dice score)는 클래스마다 배치의 모든 픽셀을 한꺼번에 세어 구합니다. 겹친 부분의 두 배를 두 "
        "크기의 합으로 나누고, 양쪽 모두에 없는 클래스는 NaN입니다.",
    },
    "hint.10.dice_score.2": {
        "en": "For each class c the overlap counts the pixels where both pred and target are c, and the sizes count "
        "where each one is c; divide twice the overlap by the sum of the sizes and give NaN when that sum is "
        "0. Return a float tensor of shape (num_classes,).",
        "ko": "클래스 c마다 겹친 부분은 pred와 target이 모두 c인 픽셀 수이고, 크기는 각각이 c인 픽셀 수입니다. 겹친 "
        "부분의 두 배를 크기의 합으로 나누고, 그 합이 0이면 NaN을 주세요. 모양이 (num_classes,)인 float 텐서를 "
        "돌려줍니다.",
    },
}
