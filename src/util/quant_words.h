/* The words of compressed-tensors' QuantizationArgs and of N:M sparsity, read
 * in one place: by the recipe lint (from YAML) and by the kernels' options
 * (from text). Plain enums, so the core can use them too. */
#ifndef MS_QUANT_WORDS_H
#define MS_QUANT_WORDS_H

#include <stdbool.h>
#include <stddef.h>

/* QuantizationStrategy, in compressed-tensors' order. */
typedef enum {
    MS_QSTRAT_TENSOR,
    MS_QSTRAT_CHANNEL,
    MS_QSTRAT_GROUP,
    MS_QSTRAT_BLOCK,
    MS_QSTRAT_TOKEN,
    MS_QSTRAT_TENSOR_GROUP,
    MS_QSTRAT_ATTN_HEAD,
    MS_QSTRAT_COUNT
} ms_qstrategy;

const char *ms_qstrategy_name(ms_qstrategy strategy);
/* The strategy called `word`, or -1. compressed-tensors ignores case
 * (`ignore_case`); a command line need not. */
int ms_qstrategy_parse(const char *word, bool ignore_case);

/* ActivationOrdering: "group" and "dynamic" are one, "weight" and "static"
 * the other. */
typedef enum { MS_QACT_NONE, MS_QACT_GROUP, MS_QACT_WEIGHT } ms_qactorder;

/* The ordering called `word` (not "none": a recipe writes null), or -1;
 * *canonical (may be NULL) gets the word as upstream stores it. */
int ms_qactorder_parse(const char *word, bool ignore_case, const char **canonical);

/* "N:M" (N:M sparsity, as mask_structure writes it): decimal N and M in
 * [1, max] with N <= M, nothing else. */
bool ms_nm_parse(const char *s, size_t max, size_t *n, size_t *m);

#endif
