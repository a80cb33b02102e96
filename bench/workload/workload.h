/* The small program benchmark 3 compiles: what a build does, in a few files. */
#ifndef WORKLOAD_H
#define WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t used;
};
void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
void sha256_final(struct sha256 *s, uint8_t out[32]);

void sort_strings(char **items, size_t n);
size_t unique_strings(char **items, size_t n);

enum token_kind { TOK_WORD, TOK_NUMBER, TOK_STRING, TOK_PUNCT, TOK_END, TOK_ERROR };
struct token {
    enum token_kind kind;
    const char *start;
    size_t len;
};
struct lexer {
    const char *p;
    unsigned line;
};
void lexer_init(struct lexer *lx, const char *text);
struct token lexer_next(struct lexer *lx);

struct table;
struct table *table_new(size_t buckets);
void table_free(struct table *t);
unsigned long table_add(struct table *t, const char *key, size_t len);
size_t table_size(const struct table *t);
void table_each(const struct table *t, void (*fn)(const char *key, unsigned long count, void *arg),
                void *arg);

#endif
