"""docs/problems.md stays true: its examples solve with every claimed answer right, and it
names every function, quiz topic and budget the code has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cnnlab.ops import budget as B
from cnnlab.problems import load_problem_text, solve_set
from cnnlab.problems.functions import FUNCTIONS
from cnnlab.problems.quiz import TOPICS

DOC = (Path(__file__).resolve().parent.parent / "docs" / "problems.md").read_text(encoding="utf-8")
EXAMPLES = re.findall(r"```yaml\n(.*?)```", DOC, re.S)


def test_the_doc_has_examples():
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_each_yaml_example_solves_and_its_answers_are_right(index):
    result = solve_set(load_problem_text(EXAMPLES[index], f"docs example {index + 1}"))
    checked = [p for p in result.parts if p.comparison is not None]
    wrong = [(p.id, p.comparison.note, p.comparison.mismatches[:2]) for p in checked if not p.correct]
    assert not wrong


def test_every_function_is_documented_with_its_signature():
    for fn in FUNCTIONS.values():
        assert f"`{fn.name}(" in DOC, fn.name
        for p in fn.params:
            assert p.name in DOC
    documented = set(re.findall(r"`([a-z_0-9]+)\(", DOC))
    assert {f for f in documented if f in FUNCTIONS} == set(FUNCTIONS)


def test_every_quiz_topic_and_budget_is_documented():
    for topic in TOPICS:
        assert f"| `{topic}` |" in DOC, topic
    for limit in (B.EXACT_WORK_BUDGET, B.FILE_WORK_BUDGET, B.STEPS_WORK_BUDGET, B.RENDER_CELL_BUDGET, B.CALL_COST):
        assert f"{limit:,}" in DOC, limit
