"""Person names: a stored form and comparison keys, vectorised with Arrow.

Rules:

1. Every part is NFKC-normalised with whitespace collapsed. The parts ``first_name`` / ``last_name`` are used
   when either is present; otherwise ``full_name``.
2. Script: ``han`` when the name holds a Han (Chinese) character, else ``latin`` when it holds a Latin letter,
   else ``other``; null when there is no name.
3. Han names are kept as written, without spaces, surname first (``王小明``; from parts: last name then first
   name). The surname is the first character, or the first two for a known compound surname (``欧阳``,
   ``司马``, ...). Western rules (swapping, splitting on spaces, case folding) are never applied to them.
4. Other names are stored case-folded (``name_normalized``: ``jan de vries``). For comparison diacritics are
   folded (``Zoë`` ~ ``zoe``, ``ß`` ~ ``ss``), punctuation becomes a space, and a copy of the tokens sorted
   alphabetically makes the comparison order-insensitive, so romanised Chinese names match in either order
   (``Wang Xiaoming`` ~ ``Xiaoming Wang``).
5. Placeholder names from the blocklist (``unknown``, ``test``) are stored but carry no identity evidence.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from customer360.identity.blocklist import Blocklist
from customer360.identity.distinct import as_string_array

# Two-character Chinese surnames (simplified and traditional forms); all others are one character.
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 "
    "钟离 闻人 万俟 澹台 公冶 宗政 濮阳 太史 申屠 端木 西门 南宫 独孤 呼延 赫连 "
    "拓跋 百里 东郭 左丘 第五 司空 司寇 乐正 歐陽 司馬 諸葛 東方 長孫 尉遲 軒轅 "
    "鍾離 聞人 澹臺 濮陽 西門 南宮 獨孤 東郭".split()
)
# Letters NFKD does not decompose, folded for comparison.
_LETTER_FOLDS = {"ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}

NAME_RULES_VERSION = "name-v1: nfkc, han surname first, latin fold + token sort"

NAME_COLUMNS = (
    "name_normalized",
    "name_script",
    "name_fold",
    "name_sorted",
    "surname",
    "given_name",
    "name_is_matchable",
)

_NULL = pa.scalar(None, pa.string())


def normalize_names(
    first_name: object, last_name: object, full_name: object, blocklist: Blocklist
) -> pa.Table:
    """One row per input row with the stored name (``name_normalized``, ``name_script``) and comparison keys
    (``name_fold``, ``name_sorted``, ``surname``, ``given_name``, ``name_is_matchable``)."""
    first = _clean(as_string_array(first_name))
    last = _clean(as_string_array(last_name))
    full = _clean(as_string_array(full_name))
    has_parts = pc.or_(pc.is_valid(first), pc.is_valid(last))
    western = _null_if_empty(
        pc.binary_join_element_wise(pc.fill_null(first, ""), pc.fill_null(last, ""), " ")
    )
    western = pc.utf8_trim_whitespace(western)
    han_parts = _null_if_empty(
        pc.binary_join_element_wise(pc.fill_null(last, ""), pc.fill_null(first, ""), "")
    )
    combined = pc.if_else(has_parts, western, full)

    is_han = pc.fill_null(pc.match_substring_regex(combined, r"\p{Han}"), False)
    is_latin = pc.fill_null(pc.match_substring_regex(combined, r"\p{Latin}"), False)
    script = pc.if_else(
        pc.is_null(combined),
        _NULL,
        pc.if_else(is_han, pa.scalar("han"), pc.if_else(is_latin, pa.scalar("latin"), pa.scalar("other"))),
    )

    han_name = pc.replace_substring(pc.if_else(has_parts, han_parts, full), " ", "")
    han_first_two = pc.utf8_slice_codeunits(han_name, 0, 2)
    han_compound = pc.fill_null(pc.is_in(han_first_two, value_set=pa.array(sorted(COMPOUND_SURNAMES))), False)
    han_surname = pc.if_else(
        has_parts,
        pc.replace_substring(last, " ", ""),
        pc.if_else(han_compound, han_first_two, pc.utf8_slice_codeunits(han_name, 0, 1)),
    )
    han_given = _han_given(han_name, han_surname, has_parts, first)

    fold = fold_text(combined)
    last_fold = fold_text(last)
    first_fold = fold_text(first)
    tokens_first = pc.struct_field(pc.extract_regex(fold, r"^(?P<t>\S+)"), "t")
    tokens_last = pc.struct_field(pc.extract_regex(fold, r"(?P<t>\S+)$"), "t")
    western_surname = pc.if_else(pc.is_valid(last_fold), last_fold, tokens_last)
    western_given = pc.if_else(pc.is_valid(first_fold), first_fold, tokens_first)

    normalized = pc.if_else(is_han, han_name, pc.utf8_lower(combined))
    name_fold = pc.if_else(is_han, han_name, fold)
    name_sorted = pc.if_else(is_han, han_name, _sort_tokens(fold))
    placeholder = pc.fill_null(
        pc.is_in(name_fold, value_set=pa.array(sorted(blocklist.placeholder_names), pa.string())), False
    )
    return pa.table(
        {
            "name_normalized": _null_if_empty(normalized),
            "name_script": script,
            "name_fold": _null_if_empty(name_fold),
            "name_sorted": _null_if_empty(name_sorted),
            "surname": _null_if_empty(pc.if_else(is_han, han_surname, western_surname)),
            "given_name": _null_if_empty(pc.if_else(is_han, han_given, western_given)),
            "name_is_matchable": pc.and_(pc.is_valid(_null_if_empty(name_fold)), pc.invert(placeholder)),
        }
    )


def _han_given(han_name: pa.Array, surname: pa.Array, has_parts: pa.Array, first: pa.Array) -> pa.Array:
    """The given name of a Han name: the first-name part, or what follows the surname."""
    surname_length = pc.fill_null(pc.utf8_length(surname), 0)
    one = pc.utf8_slice_codeunits(han_name, 1)
    two = pc.utf8_slice_codeunits(han_name, 2)
    rest = pc.if_else(pc.equal(surname_length, 2), two, one)
    return pc.if_else(has_parts, pc.replace_substring(first, " ", ""), rest)


def _clean(values: pa.Array) -> pa.Array:
    text = pc.utf8_normalize(values, "NFKC")
    text = pc.utf8_trim_whitespace(pc.replace_substring_regex(text, r"\s+", " "))
    return _null_if_empty(text)


def fold_text(values: pa.Array) -> pa.Array:
    """Lower case, diacritics removed, punctuation to spaces, whitespace collapsed."""
    text = pc.utf8_lower(values)
    for letter, replacement in _LETTER_FOLDS.items():
        text = pc.replace_substring(text, letter, replacement)
    text = pc.replace_substring_regex(pc.utf8_normalize(text, "NFKD"), r"\p{Mn}+", "")
    text = pc.replace_substring_regex(text, r"[^\p{L}\p{N}]+", " ")
    return _null_if_empty(pc.utf8_trim_whitespace(text))


def _sort_tokens(values: pa.Array) -> pa.Array:
    """Tokens of each value sorted alphabetically, joined by one space (null stays null)."""
    lists = pc.split_pattern(pc.fill_null(values, ""), " ")
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    parents = pc.list_parent_indices(lists)
    tokens = pc.list_flatten(lists)
    order = pc.sort_indices(
        pa.table({"p": parents, "t": tokens}), sort_keys=[("p", "ascending"), ("t", "ascending")]
    )
    sorted_lists = pa.ListArray.from_arrays(lists.offsets, tokens.take(order))
    joined = pc.binary_join(sorted_lists, " ")
    return pc.if_else(pc.is_null(values), _NULL, joined)


def _null_if_empty(values: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), _NULL, values)
