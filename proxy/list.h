/* SPDX-License-Identifier: Apache-2.0 */
/* list.h: a doubly-linked list threaded through its elements, for sets that are pushed at one end and unlinked anywhere. */
#ifndef AWSGATE_PROXY_LIST_H
#define AWSGATE_PROXY_LIST_H

#include <stddef.h>

/*
 * An element embeds one struct px_link per list it can be on and finds
 * itself again with PX_CONTAINER_OF() (proxy.h). Nothing here allocates;
 * an element is on a list from px_list_push() to px_list_unlink(), and its
 * links are NULL otherwise.
 */

struct px_link {
	struct px_link *prev, *next;
};

struct px_list {
	struct px_link *first, *last; /* first: the most recently pushed */
	size_t n;
};

/* Puts |e| first on |l|. */
static inline void px_list_push(struct px_list *l, struct px_link *e)
{
	e->prev = NULL;
	e->next = l->first;
	if (l->first != NULL)
		l->first->prev = e;
	else
		l->last = e;
	l->first = e;
	l->n++;
}

/* Takes |e| off |l|, which it is on. */
static inline void px_list_unlink(struct px_list *l, struct px_link *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		l->first = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		l->last = e->prev;
	e->prev = e->next = NULL;
	l->n--;
}

#endif
