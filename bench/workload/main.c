/* Reads C sources, tokenizes them, counts the words, prints the most common ones sorted and
 * a SHA-256 of everything read. Run by the workload script on its own sources. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workload.h"

struct words {
    char **items;
    size_t n;
};

static void collect(const char *key, unsigned long count, void *arg)
{
    struct words *w = arg;
    if (count > 2)
        w->items[w->n++] = (char *)key;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, 2 * cap + 1);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

int main(int argc, char **argv)
{
    struct sha256 hash;
    struct table *t = table_new(64);
    if (!t)
        return 1;
    sha256_init(&hash);
    for (int i = 1; i < argc; i++) {
        size_t len = 0;
        char *text = slurp(argv[i], &len);
        if (!text) {
            perror(argv[i]);
            return 1;
        }
        sha256_update(&hash, text, len);
        struct lexer lx;
        lexer_init(&lx, text);
        for (struct token tok = lexer_next(&lx); tok.kind != TOK_END; tok = lexer_next(&lx))
            if (tok.kind == TOK_WORD)
                table_add(t, tok.start, tok.len);
        free(text);
    }
    struct words w = {malloc(table_size(t) * sizeof(char *) + 1), 0};
    if (!w.items)
        return 1;
    table_each(t, collect, &w);
    sort_strings(w.items, w.n);
    w.n = unique_strings(w.items, w.n);
    for (size_t i = 0; i < w.n; i++)
        printf("%s\n", w.items[i]);
    uint8_t digest[32];
    sha256_final(&hash, digest);
    for (int i = 0; i < 32; i++)
        printf("%02x", digest[i]);
    printf("\n");
    free(w.items);
    table_free(t);
    return 0;
}
