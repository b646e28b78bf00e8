/*
 * layout.c: a query as it would read had it been typed with the other
 * keyboard layout on (ЙЦУКЕН <-> QWERTY), e.g. "wbahjdfz" -> "цифровая" and
 * "ckjdj" -> "слово", "ыуфкср" -> "search".
 *
 * The two layouts put one character on each key, so the mapping is a table
 * of key pairs, the unshifted row and the shifted one (Russian letters on the
 * punctuation keys included: [ х, ] ъ, ; ж, ' э, , б, . ю, ` ё; shifted
 * { Х, } Ъ, < Б, > Ю, ~ Ё; ':' and '"' are query syntax and stay). The text is rewritten one
 * space-separated chunk at a time, in the direction its letters ask for: a chunk with Latin letters
 * goes to Cyrillic (its punctuation keys with it: "k.,jdm" is "любовь"), a
 * chunk with Cyrillic letters and no Latin ones goes to Latin. Left alone: the
 * operators OR and AND, and the characters of the query syntax (" ( ) - * :),
 * so a query keeps its structure: "-wbahjdfz" -> "-цифровая". On the way back
 * to Latin, Ж and Э become ';' and '\'' (not ':' and '"', which are syntax),
 * which the tokenizer treats the same way.
 * qry_layout_swap_at rewrites only the chunks that hold given offsets (the
 * words no document has) and copies the rest: a query of which only some words
 * were typed in the other layout. Whether the other reading is better is not
 * decided here (index/engine searches the readings when the typed words find
 * little).
 */
#include <pthread.h>
#include <string.h>

#include "query_int.h"

/* Latin key -> Cyrillic letter (lower case), the unshifted keys. */
static const struct {
    char key;
    uint16_t cyr;
} layout_keys[] = {
    {'q', 0x0439}, {'w', 0x0446}, {'e', 0x0443}, {'r', 0x043A}, {'t', 0x0435},  {'y', 0x043D},
    {'u', 0x0433}, {'i', 0x0448}, {'o', 0x0449}, {'p', 0x0437}, {'[', 0x0445},  {']', 0x044A},
    {'a', 0x0444}, {'s', 0x044B}, {'d', 0x0432}, {'f', 0x0430}, {'g', 0x043F},  {'h', 0x0440},
    {'j', 0x043E}, {'k', 0x043B}, {'l', 0x0434}, {';', 0x0436}, {'\'', 0x044D}, {'z', 0x044F},
    {'x', 0x0447}, {'c', 0x0441}, {'v', 0x043C}, {'b', 0x0438}, {'n', 0x0442},  {'m', 0x044C},
    {',', 0x0431}, {'.', 0x044E}, {'`', 0x0451},
};

/* Shifted punctuation keys: the unshifted key they share (their letter in upper case). */
static const char layout_shifted[][2] = {
    {'{', '['}, {'}', ']'}, {'<', ','}, {'>', '.'}, {'~', '`'}};

#define LAYOUT_NKEYS (sizeof layout_keys / sizeof layout_keys[0])

static bool is_latin(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static uint32_t cyr_upper(uint32_t cp)
{
    return cp == 0x0451 ? 0x0401 : cp - 0x20; /* ё -> Ё, а..я -> А..Я */
}

static uint32_t cyr_lower(uint32_t cp)
{
    if (cp == 0x0401) {
        return 0x0451;
    }
    return cp >= 0x0410 && cp <= 0x042F ? cp + 0x20 : cp;
}

/* The Cyrillic letter on Latin key c, or 0. */
static uint32_t to_cyrillic(unsigned char c)
{
    bool is_upper = c >= 'A' && c <= 'Z';
    unsigned char k = is_upper ? (unsigned char)(c - 'A' + 'a') : c;
    for (size_t i = 0; i < sizeof layout_shifted / sizeof layout_shifted[0]; i++) {
        if ((unsigned char)layout_shifted[i][0] == c) {
            k = (unsigned char)layout_shifted[i][1];
            is_upper = true;
        }
    }
    for (size_t i = 0; i < LAYOUT_NKEYS; i++) {
        if ((unsigned char)layout_keys[i].key == k) {
            return is_upper ? cyr_upper(layout_keys[i].cyr) : layout_keys[i].cyr;
        }
    }
    return 0;
}

/* The Latin key of Cyrillic letter cp, or 0; upper case letters give upper case keys, and the
 * upper case letters on punctuation keys give the unshifted key (the tokenizer sees no case in
 * punctuation, and ':' '"' would be query syntax). */
static char to_latin(uint32_t cp)
{
    uint32_t lower = cyr_lower(cp);
    for (size_t i = 0; i < LAYOUT_NKEYS; i++) {
        if (layout_keys[i].cyr == lower) {
            char k = layout_keys[i].key;
            return lower != cp && is_latin((unsigned char)k) ? (char)(k - 'a' + 'A') : k;
        }
    }
    return 0;
}

/* Decodes a 2-byte UTF-8 sequence in the Cyrillic block at s[i]; 0 when it is none. */
static uint32_t cyrillic_at(const unsigned char *s, size_t len, size_t i)
{
    if (i + 1 >= len || (s[i] != 0xD0 && s[i] != 0xD1) || (s[i + 1] & 0xC0) != 0x80) {
        return 0;
    }
    return ((uint32_t)(s[i] & 0x1F) << 6) | (s[i + 1] & 0x3Fu);
}

/* to_cyrillic and to_latin over their whole domains, worked out once: a search reads the other
 * layout of its text once or twice, and the tables' linear lookups cost it about 2% of a typo
 * search. */
static uint16_t cyrillic_of[128]; /* byte -> to_cyrillic */
static char latin_of[0x80];       /* code point 0x400 + i (what cyrillic_at reads) -> to_latin */
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_init(void)
{
    for (unsigned c = 0; c < 128; c++) {
        cyrillic_of[c] = (uint16_t)to_cyrillic((unsigned char)c);
    }
    for (uint32_t i = 0; i < 0x80; i++) {
        latin_of[i] = to_latin(0x400 + i);
    }
}

static void put_cp(struct sd_buf *out, uint32_t cp)
{
    sd_buf_put_u8(out, (uint8_t)(0xC0 | (cp >> 6)));
    sd_buf_put_u8(out, (uint8_t)(0x80 | (cp & 0x3F)));
}

static bool is_syntax(unsigned char c)
{
    return c == '"' || c == '(' || c == ')' || c == '-' || c == '*' || c == ':';
}

/* Rewrites chunk s[0, len) to Cyrillic (to_cyr) or Latin; returns whether anything changed. */
static bool swap_chunk(const unsigned char *s, size_t len, bool to_cyr, struct sd_buf *out)
{
    bool is_changed = false;
    for (size_t i = 0; i < len;) {
        uint32_t cp = to_cyr ? 0 : cyrillic_at(s, len, i);
        uint32_t cyr = to_cyr && s[i] < 128 && !is_syntax(s[i]) ? cyrillic_of[s[i]] : 0;
        char lat = cp ? latin_of[cp - 0x400] : 0;
        if (cyr) {
            put_cp(out, cyr);
            is_changed = true;
            i++;
        } else if (lat) {
            sd_buf_put_u8(out, (uint8_t)lat);
            is_changed = true;
            i += 2;
        } else {
            sd_buf_put_u8(out, s[i]);
            i++;
        }
    }
    return is_changed;
}

/* Whether every Cyrillic letter of chunk s[0, len) sits on the key of a Latin letter (or of the
 * apostrophe, э): English typed with ЙЦУКЕН on gives no б ю ж х ъ ё, whose keys are
 * punctuation that no English word holds, so a chunk with one is Russian as typed. The chosen
 * chunks of qry_layout_swap_at keep it so: beside words typed right, a misspelt Russian word
 * ("сужбу") would read as pieces ("cez,e") that some document may have. */
static bool is_on_letter_keys(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint32_t cp = cyrillic_at(s, len, i);
        char k = cp ? latin_of[cp - 0x400] : 0;
        if (k && !is_latin((unsigned char)k) && k != '\'') {
            return false;
        }
        i += cp != 0;
    }
    return true;
}

/* Whether the chunk text[start, end) holds one of at[0, nat) (every chunk when at is NULL). */
static bool is_chosen(size_t start, size_t end, const uint32_t *at, size_t nat)
{
    for (size_t k = 0; at && k < nat; k++) {
        if (at[k] >= start && at[k] < end) {
            return true;
        }
    }
    return at == NULL;
}

bool qry_layout_mixes_scripts(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    bool has_latin = false;
    bool has_cyrillic = false;
    for (size_t i = 0; i < len && !(has_latin && has_cyrillic); i++) {
        has_latin |= is_latin(s[i]);
        has_cyrillic |= cyrillic_at(s, len, i) != 0;
    }
    return has_latin && has_cyrillic;
}

size_t qry_layout_chunk(const char *text, size_t len, size_t at)
{
    size_t begun = 0; /* chunks that begin at or before `at` */
    for (size_t i = 0; i <= at && i < len; i++) {
        begun += !is_space(text[i]) && (i == 0 || is_space(text[i - 1]));
    }
    return begun ? begun - 1 : 0;
}

int qry_layout_swap(const char *text, size_t len, struct sd_buf *out, bool *is_changed)
{
    return qry_layout_swap_at(text, len, NULL, 0, out, is_changed);
}

int qry_layout_swap_at(const char *text, size_t len, const uint32_t *at, size_t nat,
                       struct sd_buf *out, bool *is_changed)
{
    pthread_once(&tables_once, tables_init);
    const unsigned char *s = (const unsigned char *)text;
    *is_changed = false;
    for (size_t i = 0; i < len;) {
        if (is_space(text[i])) {
            sd_buf_put_u8(out, s[i++]);
            continue;
        }
        size_t end = i;
        bool has_latin = false;
        bool has_cyrillic = false;
        while (end < len && !is_space(text[end])) {
            has_latin |= is_latin(s[end]);
            has_cyrillic |= cyrillic_at(s, len, end) != 0;
            end++;
        }
        bool is_operator = (end - i == 2 && memcmp(text + i, "OR", 2) == 0) ||
                           (end - i == 3 && memcmp(text + i, "AND", 3) == 0);
        bool is_russian = at && !has_latin && !is_on_letter_keys(s + i, end - i);
        if (is_operator || (!has_latin && !has_cyrillic) || is_russian ||
            !is_chosen(i, end, at, nat)) {
            sd_buf_put(out, s + i, end - i);
        } else {
            *is_changed |= swap_chunk(s + i, end - i, has_latin, out);
        }
        i = end;
    }
    sd_buf_put_u8(out, 0);
    if (out->rc) {
        return SD_ENOMEM;
    }
    out->len--; /* NUL-terminated; len counts the text */
    return SD_OK;
}
