"""The grammar helpers write articles, plurals, counts and class names correctly."""

from __future__ import annotations

import pytest

from eoinstruct.pipeline.instructions.grammar import (
    article,
    count_phrase,
    is_are,
    join_list,
    natural_case,
    number_word,
    plural,
    sentence_case,
)


@pytest.mark.parametrize(
    ("noun", "want"),
    [
        ("building", "buildings"),
        ("class", "classes"),
        ("bus", "buses"),
        ("wind turbine", "wind turbines"),
        ("storage tank", "storage tanks"),
        ("coastal wetlands", "coastal wetlands"),
        ("pastures", "pastures"),
        ("industrial or commercial units", "industrial or commercial units"),
    ],
)
def test_plural_of_singular_and_already_plural_phrases(noun: str, want: str) -> None:
    assert plural(noun) == want


def test_articles_follow_the_sound_not_the_letter() -> None:
    assert article("earthquake") == "an earthquake"
    assert article("urban area") == "an urban area"
    assert article("wind turbine") == "a wind turbine"
    assert article("NDVI map") == "an NDVI map"


def test_counts_agree_with_their_noun() -> None:
    assert count_phrase(0, "building") == "no buildings"
    assert count_phrase(1, "building") == "1 building"
    assert count_phrase(3, "building", words=True) == "three buildings"
    assert count_phrase(42, "building", words=True) == "42 buildings"
    assert number_word(10) == "ten" and number_word(11) == "11"
    assert (is_are(1), is_are(2), is_are(0)) == ("is", "are", "are")


def test_class_names_in_natural_case_and_sentences_capitalised() -> None:
    assert natural_case("Coastal wetlands") == "coastal wetlands"
    assert natural_case("wind_turbine") == "wind turbine"
    assert natural_case("Broad-leaved forest") == "broad-leaved forest"
    assert natural_case("NDVI classes") == "NDVI classes"
    assert sentence_case("no buildings were damaged.") == "No buildings were damaged."
    assert join_list(["a", "b", "c"]) == "a, b and c"
    assert join_list(["a", "b"], "or") == "a or b"
