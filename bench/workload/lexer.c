/* A small C-like tokenizer: words, numbers, strings with escapes, punctuation, comments. */
#include <ctype.h>

#include "workload.h"

void lexer_init(struct lexer *lx, const char *text)
{
    lx->p = text;
    lx->line = 1;
}

static void skip_space_and_comments(struct lexer *lx)
{
    for (;;) {
        while (isspace((unsigned char)*lx->p)) {
            if (*lx->p == '\n')
                lx->line++;
            lx->p++;
        }
        if (lx->p[0] == '/' && lx->p[1] == '/') {
            while (*lx->p && *lx->p != '\n')
                lx->p++;
        } else if (lx->p[0] == '/' && lx->p[1] == '*') {
            lx->p += 2;
            while (*lx->p && !(lx->p[0] == '*' && lx->p[1] == '/')) {
                if (*lx->p == '\n')
                    lx->line++;
                lx->p++;
            }
            if (*lx->p)
                lx->p += 2;
        } else {
            return;
        }
    }
}

struct token lexer_next(struct lexer *lx)
{
    skip_space_and_comments(lx);
    struct token t = {TOK_END, lx->p, 0};
    const char *p = lx->p;
    if (*p == '\0')
        return t;
    if (isalpha((unsigned char)*p) || *p == '_') {
        while (isalnum((unsigned char)*p) || *p == '_')
            p++;
        t.kind = TOK_WORD;
    } else if (isdigit((unsigned char)*p)) {
        if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
            p += 2;
            while (isxdigit((unsigned char)*p))
                p++;
        } else {
            while (isdigit((unsigned char)*p) || *p == '.')
                p++;
        }
        while (*p == 'u' || *p == 'U' || *p == 'l' || *p == 'L')
            p++;
        t.kind = TOK_NUMBER;
    } else if (*p == '"' || *p == '\'') {
        char quote = *p++;
        while (*p && *p != quote) {
            if (*p == '\\' && p[1])
                p++;
            if (*p == '\n')
                break;
            p++;
        }
        if (*p != quote) {
            t.kind = TOK_ERROR;
        } else {
            p++;
            t.kind = TOK_STRING;
        }
    } else {
        static const char *const two[] = {"==", "!=", "<=", ">=", "&&", "||", "->", "++",
                                          "--", "<<", ">>", "+=", "-=", "|=", "&=", 0};
        t.kind = TOK_PUNCT;
        p++;
        for (int i = 0; two[i]; i++)
            if (lx->p[0] == two[i][0] && lx->p[1] == two[i][1]) {
                p = lx->p + 2;
                break;
            }
    }
    t.len = (size_t)(p - lx->p);
    lx->p = p;
    return t;
}
