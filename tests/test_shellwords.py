"""Variable substitution, as the Dockerfile reference ("Environment replacement") defines it."""

import pytest

from cachesim.core.errors import BuildFailure
from cachesim.parsing.shellwords import expand, expand_words, names_used

ENV = {"NAME": "app", "EMPTY": "", "V": "1.2"}


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("$NAME", "app"),  # $variable_name
        ("${NAME}", "app"),  # ${variable_name}
        ("/srv/${NAME}/bin", "/srv/app/bin"),
        ("${MISSING:-fallback}", "fallback"),  # unset -> word
        ("${EMPTY:-fallback}", "fallback"),  # empty -> word (the ':' form)
        ("${NAME:-fallback}", "app"),
        ("${NAME:+set}", "set"),  # set and not empty -> word
        ("${MISSING:+set}", ""),  # unset -> empty
        ("${EMPTY-dash}", ""),  # '-' without ':' only replaces unset
        ("$MISSING", ""),
        ("\\$NAME", "$NAME"),  # an escaped $ is literal
        ("'$NAME'", "$NAME"),  # no substitution inside single quotes
        ('"$NAME x"', "app x"),  # substitution inside double quotes, quotes removed
        ("a$", "a$"),
    ],
)
def test_expand_follows_the_reference(word, expected):
    """Each form in the Dockerfile reference expands as documented."""
    assert expand(word, ENV) == expected


def test_backtick_escape_directive():
    """With `# escape=`` the backtick escapes and the backslash is a plain character."""
    assert expand("C:\\path`$NAME", ENV, escape="`") == "C:\\path$NAME"


def test_words_split_on_unquoted_blanks():
    """ProcessWords splits on blanks outside quotes only."""
    assert expand_words('a "b c" $NAME', ENV) == ["a", "b c", "app"]


def test_names_used_lists_variables():
    """The explanation needs to know which variables a word reads."""
    assert names_used("${NAME}-$V-${X:-y}", ENV) == ("NAME", "V", "X")


def test_unterminated_quote_is_a_build_failure():
    """BuildKit rejects an unterminated quote in an expanded word."""
    with pytest.raises(BuildFailure, match="matching double-quote"):
        expand('"abc', ENV)
