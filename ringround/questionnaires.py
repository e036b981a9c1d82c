"""Questionnaires: questions, branches from an answer to the next question, templates.

A questionnaire is plain JSON kept in `Operation.questionnaire`:

    {"template": "mobilize" | ... | None,
     "questions": [{"id": "q1", "type": "choice" | "yes_no" | "scale" | "text", "text": "...",
                    "choices": [{"value": "yes", "label": "Yes", "next": "q3" | "end" | None}],
                    "min": 1, "max": 5, "next": "q2" | None}]}

Questions are asked in branch order starting from the first one. A choice's `next` overrides
the question's `next`: a question id, or "end" to stop there; None falls back to the
question's `next`. A question's `next` of None ends the questionnaire.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from flask_babel import LazyString, force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

QUESTION_TYPES = ("choice", "yes_no", "scale", "text")
END = "end"
TEMPLATE_NAMES = ("mobilize", "inform", "survey", "stay_in_touch")
MAX_QUESTIONS = 50
MAX_CHOICES = 20


class QuestionnaireError(ValueError):
    """A questionnaire that cannot be used; `problems` lists every message fit to show."""

    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


def _yes_no(yes_next: str | None = None, no_next: str | None = None) -> list[dict[str, Any]]:
    return [{"value": "yes", "label": _l("Yes"), "next": yes_next},
            {"value": "no", "label": _l("No"), "next": no_next}]


TEMPLATES: dict[str, dict[str, Any]] = {
    "mobilize": {"template": "mobilize", "questions": [
        {"id": "q1", "type": "yes_no", "text": _l("Can we count on you to join us?"),
         "choices": _yes_no("q2", "q3"), "next": None},
        {"id": "q2", "type": "yes_no", "text": _l("Can you bring a friend or neighbour along?"),
         "choices": _yes_no(), "next": None},
        {"id": "q3", "type": "choice", "text": _l("Is there another way you could help?"),
         "choices": [{"value": "share", "label": _l("Share the news"), "next": None},
                     {"value": "donate", "label": _l("Give a little"), "next": None},
                     {"value": "not_now", "label": _l("Not right now"), "next": None}],
         "next": None},
    ]},
    "inform": {"template": "inform", "questions": [
        {"id": "q1", "type": "yes_no", "text": _l("Had you already heard about this?"),
         "choices": _yes_no(), "next": "q2"},
        {"id": "q2", "type": "yes_no", "text": _l("Would you like us to send you the details?"),
         "choices": _yes_no(), "next": "q3"},
        {"id": "q3", "type": "text", "text": _l("Any questions we should follow up on?"),
         "next": None},
    ]},
    "survey": {"template": "survey", "questions": [
        {"id": "q1", "type": "scale", "text": _l("How much does this issue matter to you?"),
         "min": 1, "max": 5, "next": "q2"},
        {"id": "q2", "type": "choice", "text": _l("Which matters most to you right now?"),
         "choices": [{"value": "housing", "label": _l("Housing"), "next": None},
                     {"value": "wages", "label": _l("Wages"), "next": None},
                     {"value": "health", "label": _l("Health care"), "next": None},
                     {"value": "other", "label": _l("Something else"), "next": None}],
         "next": "q3"},
        {"id": "q3", "type": "text", "text": _l("Anything else you would like to tell us?"),
         "next": None},
    ]},
    "stay_in_touch": {"template": "stay_in_touch", "questions": [
        {"id": "q1", "type": "yes_no", "text": _l("May we keep you posted by text message?"),
         "choices": _yes_no("q2", END), "next": None},
        {"id": "q2", "type": "choice", "text": _l("When is the best time to reach you?"),
         "choices": [{"value": "morning", "label": _l("Morning"), "next": None},
                     {"value": "afternoon", "label": _l("Afternoon"), "next": None},
                     {"value": "evening", "label": _l("Evening"), "next": None}],
         "next": "q3"},
        {"id": "q3", "type": "text", "text": _l("Anything you would like us to know?"),
         "next": None},
    ]},
}


def template(name: str, language: str = "en") -> dict[str, Any]:
    """A fresh copy of a template questionnaire (mobilize, inform, survey, stay_in_touch),
    its words written in `language` (then stored as the operation's own, editable data)."""
    if name not in TEMPLATES:
        raise QuestionnaireError([_("There is no template called “%(name)s”.", name=name)])
    with force_locale(language):
        return _written(TEMPLATES[name])


def _written(value: Any) -> Any:
    """A deep copy with every lazy string rendered in the current locale."""
    if isinstance(value, LazyString):
        return str(value)
    if isinstance(value, dict):
        return {key: _written(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_written(item) for item in value]
    return value


def blank() -> dict[str, Any]:
    """An empty questionnaire."""
    return {"template": None, "questions": []}


def choice_label(question: dict[str, Any], choice: dict[str, Any]) -> str:
    """A choice as the reader reads it: a yes/no question's two answers in the reader's
    language (they are always yes and no, whatever language the template was applied in);
    an organizer's own choices as they wrote them."""
    if question.get("type") == "yes_no" and choice.get("value") in ("yes", "no"):
        return _("Yes") if choice["value"] == "yes" else _("No")
    return str(choice.get("label") or "")


def questions_of(questionnaire: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The questions of a questionnaire (an empty list for an empty or missing one)."""
    return list((questionnaire or {}).get("questions") or [])


def question_by_id(questionnaire: dict[str, Any] | None, question_id: str) -> dict | None:
    """The question with this id, or None."""
    return next((q for q in questions_of(questionnaire) if q.get("id") == question_id), None)


def choice_value(label: str) -> str:
    """A stable value for a choice label ("Not right now" -> "not_right_now")."""
    value = re.sub(r"[^a-z0-9]+", "_", label.strip().lower()).strip("_")
    return value[:40] or "choice"


def new_question_id(questionnaire: dict[str, Any] | None) -> str:
    """An id not used yet: q<n> with n one above the highest."""
    numbers = [int(q["id"][1:]) for q in questions_of(questionnaire)
               if re.fullmatch(r"q\d+", str(q.get("id", "")))]
    return f"q{max(numbers, default=0) + 1}"


def _edges(question: dict[str, Any]) -> list[str]:
    """Every question id this question can lead to (not "end")."""
    targets = [question.get("next")]
    targets += [choice.get("next") for choice in question.get("choices") or []]
    return [t for t in targets if t and t != END]


def validate(questionnaire: dict[str, Any] | None) -> list[str]:
    """Every problem with a questionnaire, as messages fit to show; [] when it is usable."""
    problems: list[str] = []
    questions = questions_of(questionnaire)
    if len(questions) > MAX_QUESTIONS:
        problems.append(_("A questionnaire can hold at most %(max)d questions.",
                           max=MAX_QUESTIONS))
    ids = [q.get("id") for q in questions]
    seen: set[str] = set()
    for question in questions:
        qid = question.get("id")
        name = qid if qid and isinstance(qid, str) else "?"
        if not qid or not isinstance(qid, str):
            problems.append(_("Every question needs an id."))
        elif qid in seen:
            problems.append(_("Two questions share the id %(id)s.", id=qid))
        seen.add(qid)
        problems += _question_problems(question, name)
        problems += _edge_problems(question, name, ids)
    if not problems:
        cycle = _find_cycle(questions)
        if cycle:
            problems.append(_("The branches go round in a circle: %(path)s.",
                               path=" → ".join(cycle)))
    return problems


def _question_problems(question: dict[str, Any], name: str) -> list[str]:
    """What is wrong with one question's text, type and choices."""
    problems: list[str] = []
    if not str(question.get("text") or "").strip():
        problems.append(_("Question %(id)s has no text.", id=name))
    kind = question.get("type")
    if kind not in QUESTION_TYPES:
        problems.append(_("Question %(id)s has an unknown type “%(type)s”.", id=name,
                           type=kind))
    choices = question.get("choices") or []
    if kind == "choice":
        if len(choices) < 2:
            problems.append(_("Question %(id)s needs at least two choices.", id=name))
        if len(choices) > MAX_CHOICES:
            problems.append(_("Question %(id)s has more than %(max)d choices.", id=name,
                               max=MAX_CHOICES))
    if kind == "yes_no" and sorted(c.get("value") for c in choices) != ["no", "yes"]:
        problems.append(_("Question %(id)s must offer exactly yes and no.", id=name))
    values = [c.get("value") for c in choices]
    if any(not v for v in values) or any(not str(c.get("label") or "").strip()
                                          for c in choices):
        problems.append(_("Question %(id)s has a choice without a label.", id=name))
    elif len(set(values)) != len(values):
        problems.append(_("Question %(id)s has two choices with the same label.", id=name))
    if kind == "scale":
        problems += _scale_problems(question, name)
    return problems


def _scale_problems(question: dict[str, Any], name: str) -> list[str]:
    low, high = question.get("min"), question.get("max")
    if not isinstance(low, int) or not isinstance(high, int) or low >= high:
        return [_("Question %(id)s: the scale’s lowest value must be below its highest.",
                  id=name)]
    if high - low > 10:
        return [_("Question %(id)s: a scale can have at most 11 steps.", id=name)]
    return []


def _edge_problems(question: dict[str, Any], name: str, ids: list) -> list[str]:
    """Branches to questions that do not exist, or back to the question itself."""
    problems: list[str] = []
    for target in _edges(question):
        if target not in ids:
            problems.append(_("Question %(id)s leads to %(target)s, which does not exist.",
                               id=name, target=target))
        elif target == question.get("id"):
            problems.append(_("Question %(id)s leads back to itself.", id=name))
    return problems


def _find_cycle(questions: list[dict[str, Any]]) -> list[str] | None:
    graph = {q["id"]: _edges(q) for q in questions}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state and (found := visit(node)):
            return found
    return None


def check(questionnaire: dict[str, Any] | None) -> dict[str, Any]:
    """The questionnaire in its stored shape, or QuestionnaireError listing its problems."""
    problems = validate(questionnaire)
    if problems:
        raise QuestionnaireError(problems)
    return {"template": (questionnaire or {}).get("template"),
            "questions": questions_of(questionnaire)}


def check_answer(question: dict[str, Any], answer: Any) -> str | int:
    """The answer normalized for storage, or QuestionnaireError when it does not fit."""
    kind = question.get("type")
    if kind in ("choice", "yes_no"):
        values = [c["value"] for c in question.get("choices") or []]
        if answer not in values:
            raise QuestionnaireError([_("%(answer)s is not one of the choices.",
                                        answer=repr(answer))])
        return answer
    if kind == "scale":
        try:
            number = int(answer)
        except (TypeError, ValueError):
            raise QuestionnaireError([_("Please give a number on the scale.")]) from None
        if not question["min"] <= number <= question["max"]:
            raise QuestionnaireError(
                [_("Please give a number from %(low)s to %(high)s.", low=question["min"],
                   high=question["max"])]
            )
        return number
    text = str(answer or "").strip()
    if len(text) > 2000:
        raise QuestionnaireError([_("Answers are limited to 2000 characters.")])
    return text


def answer_label(question: dict[str, Any], answer: Any) -> str:
    """What a person reads for an answer: a choice's label (not its stored value), or the
    answer itself for scales and text."""
    for choice in question.get("choices") or []:
        if choice.get("value") == answer:
            return str(choice.get("label") or answer)
    return str(answer)


def successor(question: dict[str, Any], answer: Any) -> str | None:
    """The id of the question that follows this answer, or None at the end."""
    for choice in question.get("choices") or []:
        if choice.get("value") == answer and choice.get("next"):
            return None if choice["next"] == END else choice["next"]
    nxt = question.get("next")
    return None if nxt in (None, END) else nxt


def next_question(
    questionnaire: dict[str, Any] | None, answers_so_far: dict[str, Any]
) -> dict[str, Any] | None:
    """The next question to ask given the answers so far (by question id), or None when done.

    Walks from the first question along the branches the answers chose; the first question on
    that path without an answer is next. Answers off the path (after a changed answer) are
    ignored.
    """
    questions = questions_of(questionnaire)
    if not questions:
        return None
    by_id = {q["id"]: q for q in questions}
    current: dict[str, Any] | None = questions[0]
    visited: set[str] = set()
    while current is not None and current["id"] not in visited:
        visited.add(current["id"])
        if current["id"] not in answers_so_far:
            return current
        nxt = successor(current, answers_so_far[current["id"]])
        current = by_id.get(nxt) if nxt else None
    return None


def answered_path(questionnaire: dict[str, Any] | None, answers: dict[str, Any]) -> list[str]:
    """The ids of the questions on the path the answers took, in order (for results)."""
    by_id = {q["id"]: q for q in questions_of(questionnaire)}
    path: list[str] = []
    current = questions_of(questionnaire)[0] if by_id else None
    while current is not None and current["id"] in answers and current["id"] not in path:
        path.append(current["id"])
        nxt = successor(current, answers[current["id"]])
        current = by_id.get(nxt) if nxt else None
    return path


def build_question(
    *, question_id: str, kind: str, text: str, choice_labels: list[str] | None = None,
    low: int | None = None, high: int | None = None, next_id: str | None = None,
    branches: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    """A question in the stored shape from what an editor form gives.

    `choice_labels` are one label per choice (choice questions); `branches` maps a choice
    value to the question id it leads to ("end", or None to follow `next_id`).
    """
    branches = branches or {}
    question: dict[str, Any] = {"id": question_id, "type": kind, "text": text.strip(),
                                "next": next_id or None}
    if kind == "yes_no":
        question["choices"] = _written(_yes_no(branches.get("yes") or None,
                                               branches.get("no") or None))
    elif kind == "choice":
        question["choices"] = [
            {"value": choice_value(label), "label": label.strip(),
             "next": branches.get(choice_value(label)) or None}
            for label in choice_labels or [] if label.strip()
        ]
    elif kind == "scale":
        question["min"], question["max"] = low, high
    return question


def replace_question(
    questionnaire: dict[str, Any] | None, question: dict[str, Any]
) -> dict[str, Any]:
    """A copy of the questionnaire with `question` replacing the one with its id (or appended).

    A new question is linked from the last one when that one simply ended.
    """
    result = copy.deepcopy(questionnaire or blank())
    result.setdefault("questions", [])
    questions = result["questions"]
    for index, existing in enumerate(questions):
        if existing.get("id") == question["id"]:
            questions[index] = question
            return result
    if questions and questions[-1].get("next") is None and not any(
        c.get("next") for c in questions[-1].get("choices") or []
    ):
        questions[-1]["next"] = question["id"]
    questions.append(question)
    return result


def remove_question(questionnaire: dict[str, Any] | None, question_id: str) -> dict[str, Any]:
    """A copy without that question; branches that led to it now follow on to where it led."""
    result = copy.deepcopy(questionnaire or blank())
    questions = result.get("questions") or []
    removed = next((q for q in questions if q.get("id") == question_id), None)
    if removed is None:
        return result
    follow = removed.get("next")
    result["questions"] = [q for q in questions if q.get("id") != question_id]
    for question in result["questions"]:
        if question.get("next") == question_id:
            question["next"] = follow
        for choice in question.get("choices") or []:
            if choice.get("next") == question_id:
                choice["next"] = None
    return result


def move_question(
    questionnaire: dict[str, Any] | None, question_id: str, offset: int
) -> dict[str, Any]:
    """A copy with that question moved up (-1) or down (+1) in display order."""
    result = copy.deepcopy(questionnaire or blank())
    questions = result.get("questions") or []
    index = next((i for i, q in enumerate(questions) if q.get("id") == question_id), None)
    if index is None:
        return result
    target = max(0, min(len(questions) - 1, index + offset))
    questions.insert(target, questions.pop(index))
    return result
