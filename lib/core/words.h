/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Word lists written "a|b|c": the choices of an option (the agent's --hook,
 * the CLI's -o), matched and listed in one way everywhere.
 */
#ifndef PODWALL_WORDS_H
#define PODWALL_WORDS_H

#include <stddef.h>

/* The index of word in list, or -1. */
int pw_word_index(const char *list, const char *word);
/* The index-th word of list (its length in *len), or NULL. */
const char *pw_word_at(const char *list, int index, int *len);
/* "a, b or c" into buf (for "expected a, b or c"); returns buf. */
const char *pw_word_list(const char *list, char *buf, size_t len);

#endif
