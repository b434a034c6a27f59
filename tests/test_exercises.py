"""Every question of the course is proven: its reference answer is correct, its
plausible wrong answers are incorrect, and the blank is "not attempted"."""

from __future__ import annotations

import re

import pytest

from conventions import ROOT
from support.exercises import Explain, Status, ___, chapters, load

QUESTIONS = [(ch, name, q) for ch in chapters() for name, q in load(ch).questions.items()]
IDS = [f"ch{ch}-{name}" for ch, name, _ in QUESTIONS]


def test_every_chapter_with_a_notebook_has_questions():
    notebooks = sorted(p.name[:2] for p in (ROOT / "exercises").glob("*.md"))
    assert notebooks == chapters(), "each exercises/NN-*.md needs support/exercises/chNN.py and vice versa"


@pytest.mark.parametrize("chapter", chapters())
def test_at_least_six_questions_and_four_kinds(chapter):
    qs = list(load(chapter))
    assert len(qs) >= 6, f"chapter {chapter} has {len(qs)} questions"
    kinds = {type(q.checker).__name__ for q in qs}
    assert len(kinds) >= 4, f"chapter {chapter} uses only {sorted(kinds)}"


@pytest.mark.parametrize("chapter,name,q", QUESTIONS, ids=IDS)
def test_reference_answer_is_correct(chapter, name, q):
    want = Status.SELF_CHECK if isinstance(q.checker, Explain) else Status.CORRECT
    result = q.evaluate(q.reference)
    assert result.status is want, f"ch{chapter} {name}: reference judged {result}"


@pytest.mark.parametrize("chapter,name,q", QUESTIONS, ids=IDS)
def test_wrong_answers_are_incorrect(chapter, name, q):
    if isinstance(q.checker, Explain):
        pytest.skip("explanations are self-checked")
    assert q.wrong, f"ch{chapter} {name}: give at least one plausible wrong answer"
    for wrong in q.wrong:
        result = q.evaluate(wrong)
        assert result.status is Status.INCORRECT, f"ch{chapter} {name}: {wrong!r} judged {result}"
        assert result.message, "an incorrect answer needs a message"


@pytest.mark.parametrize("chapter,name,q", [x for x in QUESTIONS if x[2].mistakes],
                         ids=[i for i, x in zip(IDS, QUESTIONS) if x[2].mistakes])
def test_listed_mistakes_get_their_own_message(chapter, name, q):
    for value, message in q.mistakes:
        result = q.evaluate(value)
        assert result.status is Status.INCORRECT and result.message == message, f"ch{chapter} {name}: {value!r}"


@pytest.mark.parametrize("chapter,name,q", QUESTIONS, ids=IDS)
def test_blank_is_not_attempted(chapter, name, q):
    assert q.evaluate(___).status is Status.NOT_ATTEMPTED


@pytest.mark.parametrize("chapter,name,q", QUESTIONS, ids=IDS)
def test_question_has_hint_and_solution(chapter, name, q):
    assert q.hints and q.solution_text.strip() and q.title.strip()


@pytest.mark.parametrize("folder", ["exercises", "solutions"])
@pytest.mark.parametrize("chapter", chapters())
def test_notebooks_check_every_question(folder, chapter):
    (path,) = (ROOT / folder).glob(f"{chapter}-*.md")
    text = path.read_text()
    checked = set(re.findall(r"\bex\.(q\d+)\.check\(", text))
    assert checked == set(load(chapter).questions), f"{path.name} checks {sorted(checked)}"
    strict = re.search(r"load\(\s*['\"]" + chapter + r"['\"]\s*,\s*strict\s*=\s*True\s*\)", text)
    assert bool(strict) == (folder == "solutions"), f"{path.name}: solutions load strict=True, exercises do not"


@pytest.mark.parametrize("chapter", chapters())
def test_choice_options_in_the_notebook_match_the_checker(chapter):
    """A multiple-choice question's options are written in the exercise notebook and in
    chNN.py; every option text (and no other letter) must appear in the notebook."""
    from support.exercises import Choice

    (path,) = (ROOT / "exercises").glob(f"{chapter}-*.md")
    text = " ".join(path.read_text().split())
    for name, q in load(chapter).questions.items():
        if isinstance(q.checker, Choice):
            for key, option in q.checker.options.items():
                assert " ".join(option.split()) in text, f"{path.name} {name}: option ({key}) {option!r} not in the notebook"


# ---------------------------------------------------------------------------
# instructors.md: every chapter's goals, time and suggested assignment agree with its questions
# ---------------------------------------------------------------------------

#: Minutes per question, by checker: the estimate instructors.md states.
MINUTES = {"Choice": 3, "Number": 5, "Bits": 6, "Array": 6, "Explain": 8, "Function": 12}


def _instructors_section(chapter: str) -> str:
    text = (ROOT / "instructors.md").read_text()
    assert len(re.findall(rf"^### Chapter {chapter}\b", text, flags=re.M)) <= 1, f"instructors.md: chapter {chapter} twice"
    match = re.search(rf"^### Chapter {chapter}\b.*?(?=^##|\Z)", text, flags=re.M | re.S)
    assert match, f"instructors.md: add a '### Chapter {chapter}: ...' section (learning goals, time, assignment)"
    return match.group(0)


def _minutes(chapter: str, names) -> int:
    ex = load(chapter)
    return sum(MINUTES[type(ex.questions[n].checker).__name__] for n in names)


def test_instructors_page_states_the_time_model_and_the_function_time_limit():
    from support.exercises.checkers import DEFAULT_TIMEOUT

    text = " ".join((ROOT / "instructors.md").read_text().split())
    assert (f"{MINUTES['Choice']} minutes per multiple-choice question, {MINUTES['Number']} per number, "
            f"{MINUTES['Bits']} per bit string or array, {MINUTES['Explain']} per explanation and "
            f"{MINUTES['Function']} per function") in text
    assert MINUTES["Bits"] == MINUTES["Array"]
    assert f"with {DEFAULT_TIMEOUT:g} seconds per case" in text


@pytest.mark.parametrize("chapter", chapters())
def test_instructors_page_covers_the_chapter(chapter):
    section = _instructors_section(chapter)
    questions = list(load(chapter).questions)
    goals = re.findall(r"^\|(?!\s*Learning goal|---)[^|]+\|([^|]+)\|", section, flags=re.M)
    in_goals = [q for row in goals for q in re.findall(r"q\d+", row)]
    assert set(in_goals) == set(questions), f"chapter {chapter}: goals cover {sorted(set(in_goals))}"
    total = re.search(r"Exercise set: (\d+) questions, about (\d+) min", section)
    assert total and (int(total[1]), int(total[2])) == (len(questions), _minutes(chapter, questions)), \
        f"chapter {chapter}: {len(questions)} questions, about {_minutes(chapter, questions)} min"
    suggested = re.search(r"Suggested assignment: ([q\d, ]+) \((\d+) questions, about (\d+) min\)", section)
    assert suggested, f"chapter {chapter}: no suggested assignment"
    names = [n.strip() for n in suggested[1].split(",")]
    assert set(names) <= set(questions)
    assert (int(suggested[2]), int(suggested[3])) == (len(names), _minutes(chapter, names))
