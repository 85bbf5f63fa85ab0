"""Grading exercises: a grader a student cannot fool, from one notebook to a class gradebook.

``vitcourse grade SUBMISSIONS... --out gradebook.csv`` (see ``docs/grading.md``).
Tasks come from the instructor's ``solutions/NN_topic.ipynb``; the student's
code runs in a fresh kernel-enforced container (`sandbox`, bubblewrap) that
only returns plain data over a pipe (`child`); this process makes the inputs, computes the references and judges
(`grader`). Gradebooks and feedback: `gradebook`.
"""

from .exercise import Exercise, Task, extract_student_code, load_exercise
from .flags import Flag, find_flags
from .grader import GRADER_VERSION, STATUSES, Grader, Row, Submission, discover, grade, read_notebook
from .sandbox import IsolationUnavailable
from .gradebook import merge_rows, read_gradebook, write_csv, write_feedback, write_json

__all__ = [
    "Exercise",
    "Task",
    "extract_student_code",
    "load_exercise",
    "Flag",
    "find_flags",
    "GRADER_VERSION",
    "STATUSES",
    "Grader",
    "Row",
    "Submission",
    "discover",
    "grade",
    "read_notebook",
    "IsolationUnavailable",
    "merge_rows",
    "read_gradebook",
    "write_csv",
    "write_feedback",
    "write_json",
]
