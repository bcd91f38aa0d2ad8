"""The bibliography's labels: author and year, as the text cites (issue 11).

sphinxcontrib-bibtex cites in author-year form (``bibtex_reference_style: author_year``), but the
labels of the bibliography itself come from the pybtex formatting style, whose ``plain`` style
numbers them [1]-[n]. This extension registers a style, ``authoryear``, that is ``plain`` with
labels such as "Ioffe and Szegedy, 2015" or "Srivastava et al., 2014"; two works with the same
label get "2013a", "2013b". Links come from each entry's ``doi``, ``eprint`` (arXiv) or ``url``.
"""
from __future__ import annotations

from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle


def _surname(person) -> str:
    return " ".join(person.prelast_names + person.last_names).replace("{", "").replace("}", "")


def author_year(entry) -> str:
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_surname(p) for p in people]
    if not names:
        who = entry.fields.get("organization", entry.key)
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        base = [author_year(e) for e in entries]
        counts, seen = Counter(base), Counter()
        for label in base:
            if counts[label] > 1:
                seen[label] += 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            else:
                yield label


class AuthorYearStyle(PlainStyle):
    default_label_style = "authoryear"


def setup(app):
    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
