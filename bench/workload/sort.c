/* A stable merge sort of strings with an insertion sort for short runs, and dedup. */
#include <stdlib.h>
#include <string.h>

#include "workload.h"

static void insertion(char **a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        char *x = a[i];
        size_t j = i;
        while (j > 0 && strcmp(a[j - 1], x) > 0) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

static void merge(char **a, size_t mid, size_t n, char **tmp)
{
    size_t i = 0, j = mid, k = 0;
    while (i < mid && j < n)
        tmp[k++] = strcmp(a[j], a[i]) < 0 ? a[j++] : a[i++];
    while (i < mid)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

static void msort(char **a, size_t n, char **tmp)
{
    if (n <= 16) {
        insertion(a, n);
        return;
    }
    size_t mid = n / 2;
    msort(a, mid, tmp);
    msort(a + mid, n - mid, tmp);
    if (strcmp(a[mid - 1], a[mid]) > 0)
        merge(a, mid, n, tmp);
}

void sort_strings(char **items, size_t n)
{
    if (n < 2)
        return;
    char **tmp = malloc(n * sizeof *tmp);
    if (!tmp) {
        insertion(items, n);
        return;
    }
    msort(items, n, tmp);
    free(tmp);
}

size_t unique_strings(char **items, size_t n)
{
    size_t out = 0;
    for (size_t i = 0; i < n; i++)
        if (out == 0 || strcmp(items[out - 1], items[i]) != 0)
            items[out++] = items[i];
    return out;
}
