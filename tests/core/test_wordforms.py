"""Word forms: inflected words reach their dictionary form; nothing is cut too short."""
import pytest

from marketplace.core.wordforms import MIN_STEM_LENGTH, Script, analyse, key_stem_guesses, script_of, turkic_stems
from marketplace.core.translit import sound_key


def forms(word: str) -> set[str]:
    token = analyse(word)
    return {token.word, *token.stems}


@pytest.mark.parametrize("inflected, base", [
    # Russian (Snowball): both reach one stem
    ("картофеля", "картофель"), ("яблоки", "яблоко"), ("меду", "мед"), ("молока", "молоко"),
    ("картошки", "картошка"), ("томатов", "томат"), ("фасоли", "фасоль"), ("клубники", "клубника"),
    # English (Snowball)
    ("potatoes", "potato"), ("apples", "apple"), ("cherries", "cherry"), ("slippers", "slipper"),
    # Kazakh and Kyrgyz: plural, possessive, case, and their stacks
    ("алмалар", "алма"), ("балды", "бал"), ("сүтті", "сүт"), ("сүттің", "сүт"), ("нандар", "нан"),
    ("наннан", "нан"), ("нандан", "нан"), ("картоптар", "картоп"), ("қымызды", "қымыз"),
    ("кымызды", "кымыз"), ("алмаларды", "алма"), ("алмалардың", "алма"), ("алмасының", "алма"),
    ("балын", "бал"), ("балына", "бал"), ("бауырсақтар", "бауырсақ"), ("помидорлар", "помидор"),
    ("көкөністер", "көкөніс"), ("жемиштер", "жемиш"), ("үрөндөр", "үрөн"), ("көчөттөр", "көчөт"),
    ("шөптер", "шөп"), ("чөптөр", "чөп"), ("бұйымдары", "бұйым"), ("шырдактар", "шырдак"),
    ("балдан", "бал"), ("сүтпен", "сүт"), ("кымыздан", "кымыз"), ("алмада", "алма"), ("сүтке", "сүт"),
])
def test_an_inflected_word_meets_its_base_form(inflected, base):
    assert forms(inflected) & forms(base), (analyse(inflected), analyse(base))


def test_a_final_consonant_voiced_before_a_vowel_is_unvoiced_in_the_stem():
    assert "жаңғақ" in turkic_stems("жаңғағы")


@pytest.mark.parametrize("word", [
    "доллар",  # after л the plural would be -дар: not a plural
    "алма", "кымыз", "қымыз", "сүт", "бал",  # dictionary forms
    "яблоки", "меду",  # Russian endings whose vowel is out of harmony with the stem
    "етті", "эттер",  # ет/эт + a case or plural ending: the stem would be two letters
])
def test_words_without_a_kazakh_or_kyrgyz_suffix_stay_whole(word):
    assert turkic_stems(word) == ()


@pytest.mark.parametrize("word", [
    "алмаларынан", "сүттерінің", "ұнды", "кесе", "тары", "бозо", "ала", "аттар", "ата", "уйлар", "эттер", "арпа",
])
def test_no_stem_is_shorter_than_the_minimum(word):
    assert all(len(stem) >= MIN_STEM_LENGTH for stem in turkic_stems(word))


@pytest.mark.parametrize("word, script", [
    ("қымыз", Script.KAZAKH), ("ірімшік", Script.KAZAKH), ("сүт", Script.KAZAKH_OR_KYRGYZ),
    ("өрүк", Script.KAZAKH_OR_KYRGYZ), ("алма", Script.CYRILLIC), ("картофель", Script.CYRILLIC),
    ("kymyz", Script.LATIN), ("süt", Script.LATIN), ("2026", Script.OTHER),
])
def test_the_script_of_a_word_comes_from_its_letters(word, script):
    assert script_of(word) is script


def test_latin_typed_kazakh_and_kyrgyz_give_guesses_to_look_up():
    assert "alma" in key_stem_guesses(sound_key("almalar"))
    assert "bal" in key_stem_guesses(sound_key("baldy"))
    assert "kimiz" in key_stem_guesses(sound_key("kymyzdy"))
    assert all(len(guess) >= MIN_STEM_LENGTH for guess in key_stem_guesses(sound_key("nandar")))


def test_a_token_carries_every_form_once():
    token = analyse("картофеля")
    assert token.word == "картофеля"
    assert token.snowball == "картофел"
    assert token.key == "kartofelia"
    assert token.stems[0] == "картофел"
    assert len(token.stems) == len(set(token.stems))
