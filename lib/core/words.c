// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Word lists "a|b|c" (words.h). */
#include <stdio.h>
#include <string.h>

#include "words.h"

/* The word after w (past its '|'), or the end of the list. */
static const char *next_word(const char *w)
{
	size_t wl = strcspn(w, "|");

	return w + wl + (w[wl] == '|');
}

const char *pw_word_at(const char *list, int index, int *len)
{
	const char *w = list;

	for (; index > 0 && *w; index--)
		w = next_word(w);
	if (index < 0 || !*w)
		return NULL;
	*len = (int)strcspn(w, "|");
	return w;
}

int pw_word_index(const char *list, const char *word)
{
	size_t len = strlen(word);
	int i = 0;

	for (const char *w = list; *w; w = next_word(w), i++)
		if (strcspn(w, "|") == len && !strncmp(w, word, len))
			return i;
	return -1;
}

const char *pw_word_list(const char *list, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = 0;
	for (const char *w = list; *w && at < len; w = next_word(w)) {
		const char *next = next_word(w);
		const char *sep = !*next ? "" : strchr(next, '|') ? ", " : " or ";
		int n = snprintf(buf + at, len - at, "%.*s%s", (int)strcspn(w, "|"), w, sep);

		if (n < 0)
			break;
		at += (size_t)n;
	}
	return buf;
}
