"""Questionnaires: branching, validation, templates, editing helpers."""

import pytest

from ringround import questionnaires as qn


def linear():
    return {"template": None, "questions": [
        {"id": "q1", "type": "yes_no", "text": "Will you vote?",
         "choices": [{"value": "yes", "label": "Yes", "next": "q3"},
                     {"value": "no", "label": "No", "next": None}], "next": "q2"},
        {"id": "q2", "type": "text", "text": "Why not?", "next": None},
        {"id": "q3", "type": "scale", "text": "How sure?", "min": 1, "max": 5, "next": None},
    ]}


def test_next_question_starts_with_the_first():
    assert qn.next_question(linear(), {})["id"] == "q1"


def test_a_choice_branch_overrides_the_question_next():
    assert qn.next_question(linear(), {"q1": "yes"})["id"] == "q3"
    assert qn.next_question(linear(), {"q1": "no"})["id"] == "q2"


def test_the_questionnaire_ends_when_next_is_none():
    assert qn.next_question(linear(), {"q1": "yes", "q3": 4}) is None
    assert qn.next_question(linear(), {"q1": "no", "q2": "busy"}) is None


def test_answers_off_the_chosen_path_are_ignored():
    # q1 changed from "no" to "yes": the old answer to q2 does not end the walk.
    assert qn.next_question(linear(), {"q1": "yes", "q2": "old"})["id"] == "q3"
    assert qn.answered_path(linear(), {"q1": "yes", "q2": "old", "q3": 2}) == ["q1", "q3"]


def test_an_explicit_end_on_a_choice_stops_there():
    stay = qn.template("stay_in_touch")
    assert qn.next_question(stay, {"q1": "no"}) is None
    assert qn.next_question(stay, {"q1": "yes"})["id"] == "q2"


def test_an_empty_questionnaire_has_no_next_question():
    assert qn.next_question({}, {}) is None
    assert qn.next_question(None, {}) is None


def test_every_template_is_valid_and_a_fresh_copy():
    for name in qn.TEMPLATE_NAMES:
        first = qn.template(name)
        assert qn.validate(first) == [], name
        first["questions"].clear()
        assert qn.template(name)["questions"], "templates must not be shared objects"


def test_unknown_template_is_refused():
    with pytest.raises(qn.QuestionnaireError):
        qn.template("nope")


def test_a_dangling_branch_is_reported():
    data = linear()
    data["questions"][0]["choices"][0]["next"] = "q9"
    assert any("q9, which does not exist" in p for p in qn.validate(data))


def test_a_cycle_is_reported():
    data = linear()
    data["questions"][1]["next"] = "q1"  # q1 -no-> q2 -> q1
    problems = qn.validate(data)
    assert len(problems) == 1 and "circle" in problems[0]
    with pytest.raises(qn.QuestionnaireError):
        qn.check(data)


def test_a_self_loop_is_reported():
    data = linear()
    data["questions"][2]["next"] = "q3"
    assert any("leads back to itself" in p for p in qn.validate(data))


def test_bad_questions_are_explained():
    data = {"questions": [
        {"id": "q1", "type": "choice", "text": "", "choices": [{"value": "a", "label": "A"}]},
        {"id": "q1", "type": "scale", "text": "Rate", "min": 5, "max": 1},
        {"id": "q3", "type": "poll", "text": "?"},
    ]}
    problems = " ".join(qn.validate(data))
    for expected in ("has no text", "at least two choices", "share the id q1",
                     "lowest value must be below", "unknown type"):
        assert expected in problems


def test_check_answer_normalizes_and_refuses():
    questions = {q["id"]: q for q in linear()["questions"]}
    assert qn.check_answer(questions["q3"], "4") == 4
    with pytest.raises(qn.QuestionnaireError):
        qn.check_answer(questions["q3"], 9)
    with pytest.raises(qn.QuestionnaireError):
        qn.check_answer(questions["q1"], "maybe")
    assert qn.check_answer(questions["q2"], "  fine ") == "fine"


def test_build_replace_remove_and_move_questions():
    data = qn.blank()
    q1 = qn.build_question(question_id="q1", kind="choice", text="Pick",
                           choice_labels=["Red car", "Blue"], branches={})
    data = qn.replace_question(data, q1)
    assert [c["value"] for c in data["questions"][0]["choices"]] == ["red_car", "blue"]
    q2 = qn.build_question(question_id=qn.new_question_id(data), kind="text", text="Why?")
    data = qn.replace_question(data, q2)
    assert q2["id"] == "q2" and data["questions"][0]["next"] == "q2"  # linked on append
    q1b = qn.build_question(question_id="q1", kind="choice", text="Pick",
                            choice_labels=["Red car", "Blue"], next_id="q2",
                            branches={"blue": "end"})
    data = qn.replace_question(data, q1b)
    assert qn.next_question(data, {"q1": "blue"}) is None
    assert qn.next_question(data, {"q1": "red_car"})["id"] == "q2"
    moved = qn.move_question(data, "q2", -1)
    assert [q["id"] for q in moved["questions"]] == ["q2", "q1"]
    removed = qn.remove_question(data, "q2")
    assert [q["id"] for q in removed["questions"]] == ["q1"]
    assert qn.validate(removed) == []
