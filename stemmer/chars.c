/*
 * chars.c: which characters make words, which join compounds, and which Snowball stemmer a
 * word goes to.
 *
 * Word characters are Unicode letters (L*), combining marks (M*) and decimal digits (Nd), as
 * utf8proc classifies them. The tokenizer asks once per character, so ASCII is answered from a
 * table and the basic Cyrillic block U+0400..U+045F (all letters) by a range test; only other
 * code points reach utf8proc's two-level category table.
 *
 * Language is decided per word from its letters alone (stem.h): all Cyrillic letters -> Russian,
 * all Latin -> English, anything else -> not stemmed. The script ranges are fixed here rather
 * than taken from the Unicode Script property, which utf8proc does not expose:
 *   Cyrillic  U+0400..U+052F, U+1C80..U+1C8F, U+2DE0..U+2DFF, U+A640..U+A69F
 *   Latin     A-Z a-z, U+00C0..U+024F, U+1E00..U+1EFF
 * A letter outside both (Greek, CJK, ª, ...) makes the word "other script".
 */
#include <utf8proc.h>

#include "stem_int.h"

enum stem_script {
    SCRIPT_CYRILLIC = 1 << 0,
    SCRIPT_LATIN = 1 << 1,
    SCRIPT_OTHER = 1 << 2,
};

/* 1 for ASCII letters and digits. */
static const unsigned char ascii_word[128] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
    ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1,
    ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1,
    ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1,
    ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

static bool is_letter_category(utf8proc_category_t c)
{
    return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
}

bool stem_is_word_char(int32_t cp)
{
    if (cp < 0x80) {
        return ascii_word[cp] != 0;
    }
    if (cp >= 0x400 && cp <= 0x45F) {
        return true;
    }
    utf8proc_category_t c = utf8proc_category(cp);
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_ME) || c == UTF8PROC_CATEGORY_ND;
}

bool stem_is_joiner(int32_t cp)
{
    switch (cp) {
    case 0x2D:   /* HYPHEN-MINUS */
    case 0x27:   /* APOSTROPHE */
    case 0x2010: /* HYPHEN */
    case 0x2011: /* NON-BREAKING HYPHEN */
    case 0x2019: /* RIGHT SINGLE QUOTATION MARK, the typographic apostrophe */
    /* The invisible characters that text puts inside words: where a line may break (SOFT
     * HYPHEN in typeset books and web pages, ZERO WIDTH SPACE in long words and URLs), where
     * it must not (WORD JOINER, and ZERO WIDTH NO-BREAK SPACE, which is also the BOM that
     * joined files leave mid-text), and the joiners of shaping (ZWNJ, ZWJ). Unicode makes them
     * all Default_Ignorable; a reader sees one word. As joiners, the word is indexed joined
     * ("информация") and, as it always was, by its parts: an index built when they were
     * separators keeps answering every query it answered. */
    case 0xAD:   /* SOFT HYPHEN */
    case 0x200B: /* ZERO WIDTH SPACE */
    case 0x200C: /* ZERO WIDTH NON-JOINER */
    case 0x200D: /* ZERO WIDTH JOINER */
    case 0x2060: /* WORD JOINER */
    case 0xFEFF: /* ZERO WIDTH NO-BREAK SPACE (BOM) */
        return true;
    default:
        return false;
    }
}

/* The script of a non-ASCII letter. */
static enum stem_script script_of_letter(int32_t cp)
{
    if ((cp >= 0x400 && cp <= 0x52F) || (cp >= 0x1C80 && cp <= 0x1C8F) ||
        (cp >= 0x2DE0 && cp <= 0x2DFF) || (cp >= 0xA640 && cp <= 0xA69F)) {
        return SCRIPT_CYRILLIC;
    }
    if ((cp >= 0xC0 && cp <= 0x24F) || (cp >= 0x1E00 && cp <= 0x1EFF)) {
        return SCRIPT_LATIN;
    }
    return SCRIPT_OTHER;
}

/* The script bit of the character at p (non-ASCII), 0 when it is not a letter, and
 * SCRIPT_OTHER for an invalid byte. Sets *n to the bytes consumed. */
static unsigned script_at(const unsigned char *p, size_t len, size_t *n)
{
    int32_t cp;
    *n = stem_utf8_decode(p, len, &cp);
    if (*n == 0) {
        *n = 1;
        return SCRIPT_OTHER;
    }
    if (cp >= 0x400 && cp <= 0x45F) {
        return SCRIPT_CYRILLIC;
    }
    if (!is_letter_category(utf8proc_category(cp))) {
        return 0;
    }
    return script_of_letter(cp);
}

enum stem_lang stem_lang_of(const char *word, size_t len)
{
    const unsigned char *p = (const unsigned char *)word;
    unsigned seen = 0;
    size_t i = 0;
    while (i < len) {
        size_t n = 1;
        if (p[i] < 0x80) {
            unsigned char b = (unsigned char)(p[i] | 0x20);
            /* An ASCII apostrophe counts as Latin: English Snowball knows
             * it ("'s"), and the tokenizer never leaves one in a token. */
            if ((b >= 'a' && b <= 'z') || p[i] == '\'') {
                seen |= SCRIPT_LATIN;
            }
        } else {
            seen |= script_at(p + i, len - i, &n);
        }
        if (seen & (seen - 1) || seen & SCRIPT_OTHER) { /* two scripts, or a third one */
            return STEM_LANG_NONE;
        }
        i += n;
    }
    if (seen == SCRIPT_CYRILLIC) {
        return STEM_LANG_RU;
    }
    return seen == SCRIPT_LATIN ? STEM_LANG_EN : STEM_LANG_NONE;
}
