"""The student edition and the grader: crafted submissions prove that grades come from the
answers the grader judges itself with the key, that a broken or endless cell costs only its
questions, and that the student wheel carries no answers.

Chapter 01 is the test chapter; four small notebooks and its solution notebook need six
kernels in all.
"""

from __future__ import annotations

import ast
import csv
import re
import zipfile
from pathlib import Path

import nbformat
import pytest

from conventions import ROOT
from support.exercises import Explain, Function, chapters, load
from support.exercises.edition import build_wheel, student_module_source
from support.grade import STATUSES, main

LOAD = "from support.exercises import load, ___\nex = load('01')"

HONEST = [
    LOAD,
    "ex.q1.check(0b101101)",                                    # a number
    "ex.q2.check(40000)",                                       # a wrong number
    "ex.q3.check('0b1101_0110')",                               # bits, written loosely
    "def to_twos(n, bits):\n    return format(n % 2**bits, f'0{bits}b')\nex.q4.check(to_twos)",
    "import numpy as np\nex.q5.check(np.array([-8, 7, 0, 15]))",
    "raise ValueError('student bug')\nex.q6.check(-128)",      # a raising cell costs q6 only
    "ex.q7.check('(c)')",
    "while True:\n    pass\nex.q8.check(131071)",               # an endless cell costs q8 only
    "ex.q9.check('1111 1010')",
    "ex.q10.check(50)",
    "ex.q12.check('Because one tenth has a denominator with the factor 5, which no power of two has.')",
    "def f(x):\n    x.append(1)\nex.q13.check(f)",               # not even an array: recorded, incorrect
]

CHEATER = [
    LOAD,
    'print("Question 1: ✅ Correct.")',                          # printing a verdict
    "import support.exercises.core as core\n"
    "core.RECORD['01/q3'] = {'status': 'correct', 'points': 1}",  # editing the record
    "import support.exercises.ch01 as key\n"
    "ex.q6.check(key.QUESTIONS[5].reference)",                  # importing the key: None
    "from support.exercises.ch01 import _K32\nex.q8.check(_K32)",  # a private value: not there
    "ex.q10.solution()\nex.q11.check(0.125)",
    "ex.q4.check(lambda n, bits: print('✅ Correct'))",         # a function that only prints
    "ex.q14.check(lambda: 93)",                                  # a function for a number
    "import support.exercises.core as core\n"
    "core.Question.check = lambda self, answer=None: print('✅ Correct.')\n"
    "ex.q2.check(1)",                                           # replacing check
    "import support.exercises.transport as t\ndel t.encode\nex.q13.check([254, 255])",  # breaks the reading
]

ROBUST = [
    LOAD,
    "ex.q1.check(45)",
    "import os\nos._exit(1)\nex.q2.check(48879)",               # kills the kernel
    "ex.q10.check(50)",
    "def loops(n, bits):\n    while True:\n        pass\nex.q4.check(loops)",
]


def _write(path: Path, cells: list[str], outputs: dict | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    if outputs:  # a submission with fake saved outputs: the grader never reads them
        nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text=outputs["text"])]
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade a folder of crafted submissions once; return {submission: {question: (status, points)}}."""
    from support.exercises import checkers

    folder = tmp_path_factory.mktemp("submissions")
    _write(folder / "honest.ipynb", HONEST)
    _write(folder / "cheater.ipynb", CHEATER, outputs={"text": "Question 1: ✅ Correct.\n" * 14})
    _write(folder / "robust.ipynb", ROBUST)
    (folder / "broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    (solution,) = (ROOT / "solutions").glob("01-*.ipynb")  # every answer of the chapter, strict mode
    (folder / "solutions.ipynb").write_bytes(solution.read_bytes())
    out = tmp_path_factory.mktemp("out")
    old = checkers.DEFAULT_TIMEOUT
    checkers.DEFAULT_TIMEOUT = 0.5  # the function time limit the grader passes to the kernel
    try:
        assert main(["--chapter", "01", "--csv", str(out / "grades.csv"), "--timeout", "6", str(folder)]) == 0
    finally:
        checkers.DEFAULT_TIMEOUT = old
    with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    table: dict[str, dict[str, tuple[str, int]]] = {}
    for r in rows:
        table.setdefault(r["submission"], {})[r["question"]] = (r["status"], int(r["points"]))
    return table, rows, out


def test_csv_has_one_row_per_submission_and_question(graded):
    table, rows, _ = graded
    assert list(rows[0]) == ["submission", "question", "status", "points"]
    assert sorted(table) == ["broken.ipynb", "cheater.ipynb", "honest.ipynb", "robust.ipynb", "solutions.ipynb"]
    n = len(load("01"))
    assert all(len(v) == n for v in table.values())
    assert {r["status"] for r in rows} <= set(STATUSES)
    assert all(int(r["points"]) == (r["status"] == "correct") for r in rows)


def test_honest_answers_are_graded_with_the_key(graded):
    got = graded[0]["honest.ipynb"]
    for q in ("q1", "q3", "q4", "q5", "q7", "q9", "q10"):
        assert got[q] == ("correct", 1), q
    assert got["q2"] == ("incorrect", 0)
    assert got["q13"] == ("incorrect", 0)
    assert got["q12"] == ("self-check", 0)
    assert got["q11"] == ("not attempted", 0)


def test_the_solution_notebook_gets_every_point(graded):
    """Every kind of answer (numbers, bits, arrays, letters, functions) survives the trip
    from the kernel to the grader."""
    got = graded[0]["solutions.ipynb"]
    for name, q in load("01").questions.items():
        assert got[name] == (("self-check", 0) if isinstance(q.checker, Explain) else ("correct", 1)), name


def test_a_raising_or_endless_cell_costs_only_its_questions(graded):
    got = graded[0]["honest.ipynb"]
    assert got["q6"] == ("error", 0) and got["q8"] == ("error", 0)
    assert got["q9"] == ("correct", 1)  # the cells after them still count


def test_a_dead_kernel_and_an_endless_function_cost_only_their_questions(graded):
    got = graded[0]["robust.ipynb"]
    assert got["q1"] == ("correct", 1) and got["q10"] == ("correct", 1)
    assert got["q2"][0] == "error"
    assert got["q4"] == ("incorrect", 0)


def test_cheating_gains_nothing(graded):
    got = graded[0]["cheater.ipynb"]
    assert sum(points for _, points in got.values()) == 1  # q11, answered honestly
    assert got["q11"] == ("correct", 1)
    assert got["q1"][0] == "not attempted"   # printing a verdict
    assert got["q2"][0] == "not attempted"   # a replaced check records nothing
    assert got["q3"][0] == "incorrect"       # an edited record is just a (wrong) answer
    assert got["q6"][0] == "not attempted"   # the student edition's reference is None
    assert got["q8"][0] == "error"           # the key's values are not in the student edition
    assert got["q4"][1] == 0 and got["q14"][0] == "incorrect"  # a function that prints; one for a number
    assert got["q13"][0] == "error"          # an answer the grader cannot read is not a point


def test_an_unreadable_notebook_is_reported_and_the_folder_goes_on(graded):
    table, _, out = graded
    assert {s for s, _ in table["broken.ipynb"].values()} == {"error"}
    text = (out / "grades-feedback" / "broken.md").read_text()
    assert "not a readable notebook" in text


def test_feedback_files_explain_without_giving_the_answer(graded):
    out = graded[2]
    text = (out / "grades-feedback" / "honest.md").read_text()
    assert "Score: 7 / 14" in text
    assert "too small" in text and "48879" not in text       # q2: 40000 is too small
    assert "raised ValueError" in text and "ran past the 6 s limit" in text
    assert "Graded by your instructor" in text


def test_cli_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit):
        main(["--chapter", "99", "--csv", "x.csv", "a.ipynb"])
    assert "no exercises for chapter 99" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--chapter", "01", "--csv", "x.csv", "--timeout", "0", "a.ipynb"])
    assert "--timeout must be a positive" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# The student wheel carries no answers
# ---------------------------------------------------------------------------


def _secrets(chapter: str) -> tuple[list[str], list[str], list[str]]:
    """A chapter's distinctive reference values, solution lines and private names."""
    values, texts = [], []
    for q in load(chapter):
        ref = q.reference
        if isinstance(q.checker, Explain):
            texts.append(q.checker.model_answer[:60])
        elif isinstance(q.checker, Function) and getattr(ref, "__module__", "").startswith("support.exercises"):
            texts.append(getattr(ref, "__name__", ""))  # a reference written for the question
        elif isinstance(ref, str) and len(ref) >= 8:
            values.append(ref)
        elif isinstance(ref, float) and len(repr(ref)) >= 8:
            values.append(repr(ref))
        prose = re.sub(r"```.*?```", "", q.solution_text, flags=re.S)  # code may be generic
        texts += [line.strip() for line in prose.splitlines() if len(line.strip()) >= 40]
    source = (ROOT / "support" / "exercises" / f"ch{chapter}.py").read_text()
    private = [n.name for n in ast.walk(ast.parse(source))
               if isinstance(n, (ast.FunctionDef, ast.Assign)) and getattr(n, "name", "").startswith("_")]
    private += [t.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Assign)
                for t in n.targets if isinstance(t, ast.Name) and t.id.startswith("_") and len(t.id) > 3]
    return values, [t for t in texts if t], private


def test_student_wheel_has_no_reference_answers_solutions_or_implementations(tmp_path):
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        files = {n: zf.read(n).decode("utf-8", "replace") for n in names}
    assert "support/grade.py" not in names and "support/exercises/edition.py" not in names
    assert any(n.endswith(".dist-info/RECORD") for n in names)
    exercise_files = {n: t for n, t in files.items() if n.startswith("support/exercises/")}
    everything = "\n".join(files.values())
    for chapter in chapters():
        student = exercise_files[f"support/exercises/ch{chapter}.py"]
        assert "reference=None" in student and "solution_text=''" in student
        values, texts, private = _secrets(chapter)
        for value in values:  # a short value may be another chapter's hint or a library's example
            assert value not in student, f"ch{chapter}: the answer {value!r} is in the wheel"
        for text in texts:
            assert text not in everything, f"ch{chapter}: solution text {text[:60]!r} is in the wheel"
        for name in private:
            assert not re.search(rf"\b{re.escape(name)}\b", student), f"ch{chapter}: {name} is in the wheel"


def test_student_modules_load_and_keep_every_question(tmp_path):
    """The generated module of every chapter compiles and has the same questions and titles."""
    import importlib.util

    for chapter in chapters():
        path = tmp_path / f"ch{chapter}.py"
        path.write_text(student_module_source(chapter))
        spec = importlib.util.spec_from_file_location(f"student_ch{chapter}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert [q.title for q in module.QUESTIONS] == [q.title for q in load(chapter)]
        assert all(q.reference is None and not q.solution_text for q in module.QUESTIONS)


# ---------------------------------------------------------------------------
# make student: the book and the notebooks without the solutions
# ---------------------------------------------------------------------------


def _tool():
    import importlib.util

    spec = importlib.util.spec_from_file_location("student_edition", ROOT / "tools" / "student_edition.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_student_toc_drops_the_solutions_and_the_instructors_page():
    import yaml

    toc = _tool().student_toc(yaml.safe_load((ROOT / "_toc.yml").read_text()))
    files = [c.get("file", c.get("glob")) for part in toc["parts"] for c in part["chapters"]]
    assert files and not [f for f in files if f.startswith("solutions/") or f == "instructors"]
    assert any(f.startswith("exercises/") for f in files) and any(f.startswith("chapters/") for f in files)


def test_student_pages_have_no_solution_dropdowns_or_links():
    tool = _tool()
    page = ("Text {doc}`../solutions/01-x` and [here](../solutions/01-x.md).\n"
            "```{dropdown} Solution\nthe answer is 42\n```\n"
            ":::{admonition} Answer\n:class: dropdown\n42\n:::\n"
            "```{dropdown} Optional: NaN payloads\nkept\n```\nsee {doc}`instructors`.\n")
    out = tool.strip_solutions(page)
    assert "42" not in out and "solutions/" not in out and "instructors" not in out
    assert "Optional: NaN payloads" in out and "kept" in out and "[here]" not in out and "here" in out
    for path in [ROOT / "intro.md", *sorted((ROOT / "chapters").glob("*.md")), *sorted((ROOT / "exercises").glob("*.md"))]:
        text = tool.strip_solutions(path.read_text())
        assert "solutions/" not in text and "solution()" not in text, path.name
        assert "check says whether it is right" not in text and "model answer to compare" not in text, path.name


def test_student_notebooks_hide_solutions_and_install_the_student_wheel():
    tool = _tool()
    (path,) = (ROOT / "exercises").glob("01-*.ipynb")
    nb = tool.student_notebook(nbformat.read(path, as_version=4), "student.whl")
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    text = "\n".join(c.source for c in nb.cells)
    assert ".solution()" not in text and "git+https" not in code and '"student.whl"' in code
    assert "Student edition" in text and "records your answer" in text
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert len(_questions_checked(code)) == len(load("01"))


def _questions_checked(code: str) -> set[str]:
    return set(re.findall(r"\bex\.(q\d+)\.check\(", code))


# ---------------------------------------------------------------------------
# Answers travel from the kernel as plain data
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [
    0, -(10**400), 2.5, float("nan"), float("-inf"), "0b1010", None, True, (1, "a"), [1.5, [2]],
    {"a": 1}, 1 + 2j,
])
def test_plain_answers_round_trip(value):
    from support.exercises.transport import decode, encode

    back = decode(json_round(encode(value)))
    if isinstance(value, float) and value != value:
        assert back != back
    else:
        assert back == value and type(back) is type(value)


def test_arrays_and_numpy_scalars_keep_dtype_and_shape():
    import ml_dtypes
    import numpy as np

    from support.exercises.transport import decode, encode

    for arr in (np.arange(6, dtype=np.int8).reshape(2, 3), np.array([0.1], np.float32),
                np.array([1.5, -2], dtype=ml_dtypes.bfloat16), np.zeros((0, 4))):
        back = decode(json_round(encode(arr)))
        assert back.dtype == arr.dtype and back.shape == arr.shape and (back == arr).all()
    assert type(decode(encode(np.float16(1.5)))) is np.float16


@pytest.mark.parametrize("data", [
    None, [], {"t": "ndarray", "dtype": "object", "shape": [1], "data": ""},
    {"t": "ndarray", "dtype": "float64", "shape": [3], "data": "AAAA"}, {"t": "int", "v": "1" * 6000},
    {"t": "nope"}, {"t": "float", "v": "__import__('os')"},
])
def test_malformed_data_becomes_an_answer_no_checker_accepts(data):
    from support.exercises import Number
    from support.exercises.transport import Opaque, decode

    back = decode(data)
    assert isinstance(back, Opaque)
    assert Number(1.0).evaluate(back).status.value == "incorrect"


def json_round(data):
    import json

    return json.loads(json.dumps(data))
