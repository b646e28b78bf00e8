/*
 * stoplist.c: the built-in stopword lists, "en" and "ru" of the settings' "stopwords".
 *
 * They are the Snowball project's lists (snowballstem.org, english/stop.txt and
 * russian/stop.txt, BSD licence), the ones its stemmers are meant to be used with, minus the
 * English contractions ("don't", "i'm"...): the query parser reads those as compounds (a phrase of
 * their parts), never as one word, so they could not match. Each word goes through the
 * tokenizer when a lexicon is built (lexicon.c), so folding ("её" -> "ее") is the documents'.
 */
#include <string.h>

#include "lexicon_int.h"

/* The word lists, packed as Snowball prints them. */
/* clang-format off */
static const char *const lex_stop_en[] = {
    "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours",
    "yourself", "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself",
    "it", "its", "itself", "they", "them", "their", "theirs", "themselves", "what", "which",
    "who", "whom", "this", "that", "these", "those", "am", "is", "are", "was", "were", "be",
    "been", "being", "have", "has", "had", "having", "do", "does", "did", "doing", "would",
    "should", "could", "ought", "cannot", "a", "an", "the", "and", "but", "if", "or", "because",
    "as", "until", "while", "of", "at", "by", "for", "with", "about", "against", "between",
    "into", "through", "during", "before", "after", "above", "below", "to", "from", "up", "down",
    "in", "out", "on", "off", "over", "under", "again", "further", "then", "once", "here",
    "there", "when", "where", "why", "how", "all", "any", "both", "each", "few", "more", "most",
    "other", "some", "such", "no", "nor", "not", "only", "own", "same", "so", "than", "too",
    "very",
};

static const char *const lex_stop_ru[] = {
    "и", "в", "во", "не", "что", "он", "на", "я", "с", "со", "как", "а", "то", "все", "она",
    "так", "его", "но", "да", "ты", "к", "у", "же", "вы", "за", "бы", "по", "только", "ее",
    "мне", "было", "вот", "от", "меня", "еще", "нет", "о", "из", "ему", "теперь", "когда",
    "даже", "ну", "вдруг", "ли", "если", "уже", "или", "ни", "быть", "был", "него", "до",
    "вас", "нибудь", "опять", "уж", "вам", "ведь", "там", "потом", "себя", "ничего", "ей",
    "может", "они", "тут", "где", "есть", "надо", "ней", "для", "мы", "тебя", "их", "чем",
    "была", "сам", "чтоб", "без", "будто", "чего", "раз", "тоже", "себе", "под", "будет", "ж",
    "тогда", "кто", "этот", "того", "потому", "этого", "какой", "совсем", "ним", "здесь",
    "этом", "один", "почти", "мой", "тем", "чтобы", "нее", "сейчас", "были", "куда", "зачем",
    "всех", "никогда", "можно", "при", "наконец", "два", "об", "другой", "хоть", "после",
    "над", "больше", "тот", "через", "эти", "нас", "про", "всего", "них", "какая", "много",
    "разве", "три", "эту", "моя", "впрочем", "хорошо", "свою", "этой", "перед", "иногда",
    "лучше", "чуть", "том", "нельзя", "такой", "им", "более", "всегда", "конечно", "всю",
    "между",
};
/* clang-format on */

const char *const *lex_stoplist(const char *name, size_t *count)
{
    if (strcmp(name, "en") == 0) {
        *count = sizeof lex_stop_en / sizeof *lex_stop_en;
        return lex_stop_en;
    }
    if (strcmp(name, "ru") == 0) {
        *count = sizeof lex_stop_ru / sizeof *lex_stop_ru;
        return lex_stop_ru;
    }
    return NULL;
}
