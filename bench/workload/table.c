/* A chained hash table counting string keys (FNV-1a), grown by doubling. */
#include <stdlib.h>
#include <string.h>

#include "workload.h"

struct entry {
    struct entry *next;
    unsigned long hash;
    unsigned long count;
    size_t len;
    char key[];
};

struct table {
    struct entry **buckets;
    size_t nbuckets;
    size_t size;
};

static unsigned long fnv1a(const char *s, size_t n)
{
    unsigned long h = 1469598103934665603UL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211UL;
    }
    return h;
}

struct table *table_new(size_t buckets)
{
    struct table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->nbuckets = buckets ? buckets : 16;
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    return t;
}

void table_free(struct table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nbuckets; i++)
        for (struct entry *e = t->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    free(t->buckets);
    free(t);
}

static void grow(struct table *t)
{
    size_t n = t->nbuckets * 2;
    struct entry **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < t->nbuckets; i++)
        for (struct entry *e = t->buckets[i], *next; e; e = next) {
            next = e->next;
            e->next = b[e->hash % n];
            b[e->hash % n] = e;
        }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
}

unsigned long table_add(struct table *t, const char *key, size_t len)
{
    unsigned long h = fnv1a(key, len);
    for (struct entry *e = t->buckets[h % t->nbuckets]; e; e = e->next)
        if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0)
            return ++e->count;
    struct entry *e = malloc(sizeof *e + len + 1);
    if (!e)
        return 0;
    e->hash = h;
    e->count = 1;
    e->len = len;
    memcpy(e->key, key, len);
    e->key[len] = '\0';
    e->next = t->buckets[h % t->nbuckets];
    t->buckets[h % t->nbuckets] = e;
    if (++t->size > t->nbuckets * 2)
        grow(t);
    return 1;
}

size_t table_size(const struct table *t) { return t->size; }

void table_each(const struct table *t, void (*fn)(const char *key, unsigned long count, void *arg),
                void *arg)
{
    for (size_t i = 0; i < t->nbuckets; i++)
        for (const struct entry *e = t->buckets[i]; e; e = e->next)
            fn(e->key, e->count, arg);
}
