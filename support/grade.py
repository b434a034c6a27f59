"""Grade submitted exercise notebooks with the instructor's answer key.

Usage::

    python -m support.grade --chapter 02 --csv grades.csv submissions/          # a folder
    python -m support.grade --chapter 02 --csv grades.csv alice.ipynb bob.ipynb --timeout 30

For each submission the grader

1. runs the notebook cell by cell in a fresh Jupyter kernel (nbclient) whose ``support`` is the
   *student edition* (:mod:`support.exercises.edition`): its questions know only the form of
   their answers, so a submission that imports the answer key finds nothing to copy;
2. after every cell, reads the answers that the cell passed to ``ex.qN.check`` (the student
   edition records them), as plain data (:mod:`support.exercises.transport`), never as
   pickles; a function answer is run on the key's test cases inside the kernel, with a time
   limit per case, and only its outputs come back;
3. judges those answers *in its own process* with the practice edition's checkers (the key),
   so nothing the notebook prints, and no ``check`` it replaces, counts;
4. writes one CSV row per submission and question, ``submission,question,status,points``
   (status ``correct``, ``incorrect``, ``not attempted``, ``self-check`` or ``error``; one
   point for ``correct``), and a short feedback file per submission.

A cell that raises costs only the questions it checks; a cell that runs past ``--timeout``
seconds is interrupted (and, if it ignores the interrupt, the kernel is restarted and the
notebook replayed without that cell); a file that is not a notebook is reported and the
others are graded.  Run the grader in a container or as a user who cannot read the
instructor's copy of the course: the kernel runs the students' code.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import math
import os
import pickle
import re
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from support.exercises import ExerciseSet, Function, Result, Status, load
from support.exercises.edition import write_student_package
from support.exercises.transport import Opaque, decode, decode_outcome

__all__ = ["Row", "grade_notebook", "grade", "find_submissions", "main", "STATUSES"]

#: The statuses a CSV row can have.
STATUSES = ("correct", "incorrect", "not attempted", "self-check", "error")

#: Seconds the grader's own cells (reading answers, a restart check) may take.
_OWN_CELL_TIMEOUT = 30
_MAX_RESTARTS = 3
_TIMEOUT = "GraderCellTimeout"


@dataclass(frozen=True)
class Row:
    """One graded question of one submission (``message`` goes to the feedback file).

    Its first four fields are the columns of the CSV that :func:`grade` writes.

    Examples
    --------
    >>> row = Row("alice.ipynb", "q1", "correct", 1)
    >>> row.status in STATUSES, row.points, row.message
    (True, 1, '')
    """

    submission: str
    question: str
    status: str
    points: int
    message: str = ""


def find_submissions(paths: Sequence[str | Path]) -> list[Path]:
    """The notebooks to grade: files as given, folders' ``*.ipynb`` files (sorted, not recursive).

    Examples
    --------
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in ("bob.ipynb", "alice.ipynb", "notes.txt"):
    ...         _ = (Path(tmp) / name).write_text("{}")
    ...     print([p.name for p in find_submissions([tmp, Path(tmp) / "notes.txt"])])
    ['alice.ipynb', 'bob.ipynb', 'notes.txt']
    """
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.glob("*.ipynb") if p.is_file())
        else:
            found.append(path)
    return found


# ---------------------------------------------------------------------------
# The kernel: runs the student's cells and the grader's own small cells
# ---------------------------------------------------------------------------


class _Kernel:
    """A Jupyter kernel with the student edition of ``support`` first on its path."""

    def __init__(self, student_root: Path, workdir: Path, timeout: float):
        import nbformat
        from nbclient import NotebookClient

        self.student_root, self.timeout = student_root, timeout
        self.nb = nbformat.v4.new_notebook()
        # On a timeout nbclient interrupts the kernel and ends the cell with this error at once
        # (a cell that ignores the interrupt then holds up only the next cell: see run()).
        self.client = NotebookClient(self.nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                     interrupt_on_timeout=True, error_on_timeout={"ename": _TIMEOUT},
                                     resources={"metadata": {"path": str(workdir)}})
        self.client.on_cell_executed = self._keep_reply
        self._reply: dict = {}
        env = dict(os.environ)
        env["PYTHONPATH"] = str(student_root)
        env.pop("PYTHONSTARTUP", None)
        self.client.km = self.client.create_kernel_manager()
        self.client.start_new_kernel(env=env, stderr=subprocess.DEVNULL)
        self.client.start_new_kernel_client()

    def run(self, source: str, timeout: float | None = None) -> tuple[str, str]:
        """Run ``source``; return ``("ok", "")``, ``("error", what)``, ``("timeout", what)`` or ``("dead", what)``."""
        import nbformat
        from nbclient.exceptions import CellTimeoutError, DeadKernelError

        cell = nbformat.v4.new_code_cell(source)
        self.nb.cells.append(cell)
        self._reply = {}
        self.client.timeout = math.ceil(timeout or self.timeout)  # nbclient takes whole seconds; 0 means none
        try:
            self.client.execute_cell(cell, len(self.nb.cells) - 1)
        except CellTimeoutError:
            return "timeout", f"ran past the {self.client.timeout} s limit"
        except DeadKernelError:
            return "dead", "stopped the kernel"
        except Exception as exc:  # a broken channel: treat the kernel as lost
            return "dead", f"lost the kernel ({type(exc).__name__})"
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        cell.outputs = []  # keep memory flat: nothing else of the outputs is used
        if self._reply.get("content", {}).get("ename") == _TIMEOUT:
            return "timeout", f"ran past the {self.client.timeout} s limit"
        if errors:
            return "error", f"raised {errors[-1].get('ename', 'an error')}: {str(errors[-1].get('evalue', ''))[:200]}"
        return "ok", ""

    def _keep_reply(self, cell, cell_index, execute_reply) -> None:
        self._reply = execute_reply or {}

    def interrupt(self) -> bool:
        """After a timeout (nbclient has interrupted the cell): True if the kernel answers again."""
        return self.run("pass", min(_OWN_CELL_TIMEOUT, max(2, self.timeout)))[0] == "ok"

    def stop(self) -> None:
        from jupyter_core.utils import run_sync

        try:
            run_sync(self.client.km.shutdown_kernel)(now=True)
        except Exception:
            pass
        try:
            self.client._cleanup_kernel()
        except Exception:
            pass


_SETUP = '''
import sys as __g_sys, os as __g_os
__g_root = {root!r}
__g_sys.path[:] = [p for p in __g_sys.path if p == __g_root
                   or not __g_os.path.isfile(__g_os.path.join(p or ".", "support", "__init__.py"))]
for __g_f in list(__g_sys.meta_path):  # e.g. an editable install of the practice edition
    try:
        __g_spec = __g_f.find_spec("support", None)
    except Exception:
        continue
    if __g_spec is not None and not str(__g_spec.origin or "").startswith(__g_root):
        __g_sys.meta_path.remove(__g_f)
import support.exercises
assert support.exercises.__file__.startswith(__g_root), support.exercises.__file__
del __g_sys, __g_os, __g_root, __g_f
'''

_HARVEST = '''
def __g_harvest():
    import json
    from support.exercises import core, transport
    data = {{k: transport.encode(v) for k, v in dict(core.RECORD).items() if isinstance(k, str)}}
    with open({path!r}, "w") as fh:
        json.dump(data, fh)
__g_harvest()
del __g_harvest
'''

_RUN_FUNCTION = '''
def __g_run():
    import base64, json, pickle
    from support.exercises import checkers, core, transport
    func = core.RECORD.get({key!r})
    outcomes = []
    if callable(func):
        for args in pickle.loads(base64.b64decode({cases!r})):
            outcome = checkers.run_case(func, args, {limit!r})
            outcomes.append(transport.encode_outcome(outcome))
            if outcome.kind == "timeout":
                break
    with open({path!r}, "w") as fh:
        json.dump(outcomes, fh)
__g_run()
del __g_run
'''


def _read_json(path: Path) -> object:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None
    finally:
        path.unlink(missing_ok=True)


def _questions_in(source: str) -> set[str]:
    """The questions a cell checks (``ex.q3.check(...)`` gives ``{"q3"}``)."""
    return {f"q{n}" for n in re.findall(r"\bq(\d+)\s*\.\s*check\s*\(", source)}


# ---------------------------------------------------------------------------
# Grading one notebook
# ---------------------------------------------------------------------------


def _execute(cells: list[str], key: ExerciseSet, student_root: Path, workdir: Path,
             timeout: float) -> tuple[dict, dict, dict]:
    """Run the cells; return (answers, function outcomes, cell problems by question)."""
    answers: dict[str, object] = {}
    problems: dict[str, str] = {}
    outcomes: dict[str, list] = {}
    skip: set[int] = set()
    kernel = None
    for _ in range(_MAX_RESTARTS + 1):
        kernel = _Kernel(student_root, workdir, timeout)
        status, what = kernel.run(_SETUP.format(root=str(student_root)), _OWN_CELL_TIMEOUT)
        if status != "ok":
            kernel.stop()
            raise RuntimeError(f"the grading kernel could not load the student edition: {what}")
        restart = False
        for index, source in enumerate(cells):
            if index in skip or not source.strip():
                continue
            status, what = kernel.run(source)
            if status != "ok":
                for name in _questions_in(source):
                    problems.setdefault(name, f"the cell that checks it (cell {index + 1}) {what}")
            if status == "timeout":
                skip.add(index)  # on a replay it would only time out again
                if not kernel.interrupt():
                    status = "dead"
            if status == "dead":
                skip.add(index)
                restart = True
                break
            path = workdir / f"answers-{uuid.uuid4().hex}.json"
            status, what = kernel.run(_HARVEST.format(path=str(path)), _OWN_CELL_TIMEOUT)
            found = _read_json(path)
            if status == "ok" and isinstance(found, dict):
                prefix = f"{key.chapter}/"
                answers.update({k[len(prefix):]: v for k, v in found.items() if k.startswith(prefix)})
            else:  # the cell broke what records the answers: its questions cannot be read
                for name in _questions_in(source):
                    problems.setdefault(name, f"left no readable answer (after cell {index + 1} the grader {what or 'found no answers'})")
        if not restart:
            break
        kernel.stop()
        kernel = None
    if kernel is not None:
        for name, q in key.questions.items():
            if isinstance(q.checker, Function) and name in answers:
                outcomes[name] = _run_function(kernel, key.chapter, name, q.checker, workdir)
        kernel.stop()
    return answers, outcomes, problems


def _run_function(kernel: _Kernel, chapter: str, name: str, checker: Function, workdir: Path) -> list | None:
    """Run a recorded function on the key's cases inside the kernel; return its outcomes."""
    from support.exercises import checkers

    try:
        cases = base64.b64encode(pickle.dumps([args for args, _ in checker.cases])).decode("ascii")
    except Exception:
        return None
    limit = checkers.DEFAULT_TIMEOUT if checker.timeout is None else checker.timeout
    path = workdir / f"outcomes-{uuid.uuid4().hex}.json"
    budget = limit * len(checker.cases) + _OWN_CELL_TIMEOUT
    status, _ = kernel.run(_RUN_FUNCTION.format(key=f"{chapter}/{name}", cases=cases, limit=limit, path=str(path)), budget)
    if status == "timeout":
        kernel.interrupt()
    found = _read_json(path)
    return [decode_outcome(o) for o in found] if isinstance(found, list) else None


def _verdict(q, name: str, answers: dict, outcomes: dict, problems: dict) -> tuple[str, str]:
    """(status, message) for one question, judged here with the key."""
    if name not in answers:
        if name in problems:
            return "error", problems[name][0].upper() + problems[name][1:] + "."
        return "not attempted", "No answer was checked for this question."
    answer = decode(answers[name])
    try:
        if isinstance(q.checker, Function) and isinstance(answer, Opaque) and answer.type_name == "function":
            if outcomes.get(name) is None:  # the function was recorded but could not be run
                return "error", "Your function could not be run on the test cases."
            result = q.checker.judge(outcomes[name])
        else:
            result = q.evaluate(answer)
    except Exception as exc:  # pragma: no cover - checkers do not raise; belt and braces
        result = Result(Status.INCORRECT, f"Your answer could not be checked ({type(exc).__name__}).")
    message = result.message
    if result.status is Status.SELF_CHECK:
        message = f"Graded by your instructor. Your answer: {str(answer)[:2000]}"
    return result.status.value, message


def grade_notebook(path: str | Path, key: ExerciseSet, student_root: str | Path, *, timeout: float = 60,
                   name: str | None = None) -> list[Row]:
    """Grade one submitted notebook against ``key``; never raises for a bad submission.

    ``student_root`` is the folder that holds the student edition's ``support``
    (:func:`~support.exercises.edition.write_student_package`).

    Examples
    --------
    >>> import nbformat
    >>> cells = ["from support.exercises import load; ex = load('01')", "ex.q1.check(0b101101)", "ex.q2.check(40000)"]
    >>> notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = write_student_package(tmp)
    ...     nbformat.write(notebook, Path(tmp) / "alice.ipynb")
    ...     rows = grade_notebook(Path(tmp) / "alice.ipynb", load("01"), tmp, timeout=30)
    >>> [(row.question, row.status, row.points) for row in rows[:3]]
    [('q1', 'correct', 1), ('q2', 'incorrect', 0), ('q3', 'not attempted', 0)]
    """
    import nbformat

    path, student_root = Path(path), Path(student_root)
    name = name or path.name
    try:
        nb = nbformat.read(path, as_version=4)
        cells = [c.source for c in nb.cells if c.get("cell_type") == "code"]
    except Exception as exc:
        why = f"The submission is not a readable notebook ({type(exc).__name__}: {str(exc)[:200]})."
        return [Row(name, q, "error", 0, why) for q in key.questions]
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        try:
            answers, outcomes, problems = _execute(cells, key, student_root, Path(tmp), timeout)
        except Exception as exc:
            why = f"The notebook could not be run ({type(exc).__name__}: {str(exc)[:200]})."
            return [Row(name, q, "error", 0, why) for q in key.questions]
    rows = []
    for qname, q in key.questions.items():
        status, message = _verdict(q, qname, answers, outcomes, problems)
        rows.append(Row(name, qname, status, int(status == "correct"), message))
    return rows


def _feedback(rows: list[Row], key: ExerciseSet) -> str:
    score = sum(r.points for r in rows)
    lines = [f"# Chapter {key.chapter}: feedback for {rows[0].submission}", "",
             f"Score: {score} / {len(rows)}", ""]
    for r in rows:
        title = key.questions[r.question].title
        lines.append(f"- **{key.questions[r.question].label}** ({title}): {r.status}. {r.message}".rstrip())
    return "\n".join(lines) + "\n"


def grade(paths: Sequence[str | Path], chapter: str, csv_path: str | Path, *, timeout: float = 60,
          feedback_dir: str | Path | None = None) -> list[Row]:
    """Grade every submission; write the CSV and one feedback file per submission.

    Examples
    --------
    >>> import nbformat
    >>> cell = nbformat.v4.new_code_cell("from support.exercises import load; load('01').q1.check(45)")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     nbformat.write(nbformat.v4.new_notebook(cells=[cell]), Path(tmp) / "bob.ipynb")
    ...     rows = grade([tmp], "01", Path(tmp) / "grades.csv", timeout=30)
    ...     print((Path(tmp) / "grades.csv").read_text())
    ...     print((Path(tmp) / "grades-feedback" / "bob.md").read_text().splitlines()[2])
    submission,question,status,points
    bob.ipynb,q1,correct,1
    bob.ipynb,q2,not attempted,0
    ...
    Score: 1 / 14
    """
    key = load(chapter)
    csv_path = Path(csv_path)
    feedback_dir = Path(feedback_dir) if feedback_dir else csv_path.with_name(csv_path.stem + "-feedback")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="student-edition-") as root:
        write_student_package(root)
        for path in find_submissions(paths):
            graded = grade_notebook(path, key, root, timeout=timeout)
            rows += graded
            score = sum(r.points for r in graded)
            print(f"{path.name}: {score} / {len(graded)}", file=sys.stderr)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["submission", "question", "status", "points"])
        writer.writerows([r.submission, r.question, r.status, r.points] for r in rows)
    feedback_dir.mkdir(parents=True, exist_ok=True)
    for submission in dict.fromkeys(r.submission for r in rows):
        mine = [r for r in rows if r.submission == submission]
        (feedback_dir / f"{Path(submission).stem}.md").write_text(_feedback(mine, key), encoding="utf-8")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (see the module docstring): grade, write the CSV, return 0.

    Examples
    --------
    A submission that is not a notebook gets an ``error`` row per question (and no kernel):

    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "carol.ipynb").write_text("not a notebook")
    ...     code = main(["--chapter", "01", "--csv", str(Path(tmp) / "grades.csv"), tmp])
    ...     print(code, (Path(tmp) / "grades.csv").read_text().splitlines()[:2])
    0 ['submission,question,status,points', 'carol.ipynb,q1,error,0']
    """
    parser = argparse.ArgumentParser(prog="python -m support.grade", description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", nargs="+", help="submitted .ipynb files, or folders of them")
    parser.add_argument("--chapter", required=True, help="the chapter of the exercises, e.g. 02")
    parser.add_argument("--csv", required=True, help="where to write the grades (CSV)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds each cell may run (default 60)")
    parser.add_argument("--feedback", default=None, help="folder for the feedback files (default: next to the CSV)")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error(f"--timeout must be a positive number of seconds; got {args.timeout}")
    try:
        load(args.chapter)
    except ValueError as exc:
        parser.error(str(exc))
    grade(args.submissions, args.chapter, args.csv, timeout=args.timeout, feedback_dir=args.feedback)
    return 0


if __name__ == "__main__":
    sys.exit(main())
