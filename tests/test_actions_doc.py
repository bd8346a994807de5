"""docs/actions.md is generated from the action models and must match them."""

from pathlib import Path

from shared.actions_doc import render

DOC = Path(__file__).resolve().parent.parent / "docs" / "actions.md"


def test_actions_doc_is_up_to_date() -> None:
    assert DOC.read_text() == render(), (
        "docs/actions.md is stale: run `python -m shared.actions_doc > docs/actions.md`"
    )


def test_every_action_is_documented() -> None:
    from typing import get_args

    from shared.actions import AnyAction

    for model in get_args(get_args(AnyAction)[0]):
        assert f"## `{model.model_fields['name'].default}`" in DOC.read_text()
