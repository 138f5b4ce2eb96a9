"""Variable substitution in Dockerfile words, the way BuildKit's shell lexer does it.

The builder, not a shell, expands ``$NAME`` in the arguments of ADD, COPY, ENV, EXPOSE,
FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR and ARG (RUN, CMD and ENTRYPOINT are left
to the shell at run time). The grammar of one word::

    word     := ( quoted | escaped | variable | char )*
    quoted   := "'" any* "'"                       # literal, no escapes inside
              | '"' ( escaped-in-dq | variable | char )* '"'
    escaped  := ESC char                           # ESC is '\\' or the `escape` directive
    variable := '$' NAME | '${' NAME '}' | '${' NAME OP word '}'
    OP       := ':-' | '-' | ':+' | '+' | ':?' | '?'

Quotes are removed, an unset variable expands to the empty string, ``${V:-x}`` gives x when
V is unset or empty, ``${V:+x}`` gives x when V is set and not empty. This follows Docker's
documentation ("Environment replacement", Dockerfile reference).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from cachesim.core.errors import BuildFailure

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], escape: str, quotes: bool = True):
        self.quotes = quotes  # False: quote characters are plain text (heredoc bodies)
        self.text = text
        self.pos = 0
        self.env = env
        self.escape = escape
        self.used: list[str] = []

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self) -> str:
        ch = self.peek()
        self.pos += 1
        return ch

    def words(self, split: bool, stop: str = "") -> list[str]:
        """Read words until ``stop`` (a closing brace) or the end; split on blanks if asked."""
        words: list[str] = []
        current: list[str] = []
        seen_any = False
        while self.pos < len(self.text):
            ch = self.peek()
            if stop and ch == stop:
                break
            if split and ch in " \t\n":
                self.take()
                if seen_any:
                    words.append("".join(current))
                    current, seen_any = [], False
                continue
            seen_any = True
            if ch == self.escape:
                self.take()
                nxt = self.take()
                current.append(nxt)
            elif not self.quotes and ch in "'\"":
                current.append(self.take())
            elif ch == "'":
                self.take()
                current.append(self._single_quoted())
            elif ch == '"':
                self.take()
                current.append(self._double_quoted())
            elif ch == "$":
                current.append(self._variable())
            else:
                current.append(self.take())
        if seen_any or not split:
            words.append("".join(current))
        return words

    def _single_quoted(self) -> str:
        end = self.text.find("'", self.pos)
        if end < 0:
            raise BuildFailure(
                "unexpected end of statement while looking for matching single-quote"
            )
        value = self.text[self.pos : end]
        self.pos = end + 1
        return value

    def _double_quoted(self) -> str:
        out: list[str] = []
        while True:
            ch = self.take()
            if ch == "":
                raise BuildFailure(
                    "unexpected end of statement while looking for matching double-quote"
                )
            if ch == '"':
                return "".join(out)
            if ch == self.escape and self.peek() in ('"', "$", self.escape):
                out.append(self.take())
            elif ch == "$":
                self.pos -= 1
                out.append(self._variable())
            else:
                out.append(ch)

    def _name(self) -> str:
        start = self.pos
        while self.peek() and self.peek() in _NAME_CHARS:
            self.pos += 1
        return self.text[start : self.pos]

    def _variable(self) -> str:
        """``$name`` or ``${...}`` at the cursor, substituted (a lone ``$`` stays itself)."""
        self.take()  # the '$'
        if self.peek() == "{":
            return self._braced()
        name = self._name()
        if not name:
            return "$"
        return self._lookup(name) or ""

    def _braced(self) -> str:
        """``${name}`` or ``${name<op>word}``, the cursor on the ``{``."""
        self.take()  # '{'
        name = self._name()
        if not name:
            raise BuildFailure(f"missing ':' in substitution: {self.text}")
        if self.peek() == "}":
            self.take()
            return self._lookup(name) or ""
        op = self.take()
        if op == ":":
            op += self.take()
        if op not in _MODIFIERS:
            raise BuildFailure(f"unsupported modifier ({op}) in substitution: {self.text}")
        word = "".join(self.words(split=False, stop="}"))
        if self.take() != "}":
            raise BuildFailure(f"syntax error: missing '}}' in substitution: {self.text}")
        return _modified(op, name, self._lookup(name), word)

    def _lookup(self, name: str) -> str | None:
        self.used.append(name)
        return self.env.get(name)


# ${name<op>word}: the value or the word, by whether the variable is set (``-``, ``+``) or
# set and not empty (``:-``, ``:+``), as in the POSIX shell; ``?`` and ``:?`` fail instead.
_SUBSTITUTIONS: dict[str, Callable[[str | None, str], str]] = {
    ":-": lambda value, word: value if value else word,
    "-": lambda value, word: value if value is not None else word,
    ":+": lambda value, word: word if value else "",
    "+": lambda value, word: word if value is not None else "",
}
_MODIFIERS = (*_SUBSTITUTIONS, ":?", "?")


def _modified(op: str, name: str, value: str | None, word: str) -> str:
    """The value of ``${name<op>word}`` given the variable's value (None when unset)."""
    if op in _SUBSTITUTIONS:
        return _SUBSTITUTIONS[op](value, word)
    missing = not value if op == ":?" else value is None
    if missing:
        raise BuildFailure(f"{name}: {word or 'is not allowed to be unset'}")
    return value or ""


def expand(word: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """One word with variables substituted and quotes removed (BuildKit's ProcessWord)."""
    if "$" not in word and escape not in word and "'" not in word:
        # nothing to substitute or escape: only double quotes, if paired, to remove (the
        # lexer's result, without reading the word a character at a time)
        quotes = word.count('"')
        if quotes == 0:
            return word
        if quotes % 2 == 0:
            return word.replace('"', "")
    return _Lexer(word, env, escape).words(split=False)[0]


def expand_heredoc(body: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """A ``COPY <<EOF`` body with variables substituted: escapes are processed but quotes
    stay as they are (seen on Docker 28.5: ``say "hi $V" 'x $V' \\$V`` with V=one gives
    ``say "hi one" 'x one' $V``)."""
    return _Lexer(body, env, escape, quotes=False).words(split=False)[0]


def expand_words(text: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    """Substitute, then split on unquoted blanks (BuildKit's ProcessWords)."""
    return _Lexer(text, env, escape).words(split=True)


def names_used(word: str, env: Mapping[str, str], escape: str = "\\") -> tuple[str, ...]:
    """The variable names a word refers to, in order (to explain why a step changed)."""
    lexer = _Lexer(word, env, escape)
    lexer.words(split=False)
    return tuple(dict.fromkeys(lexer.used))
