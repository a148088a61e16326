/* Test helper for the Python cross-checks (check_model.py):
 *   model_tool dump SPEC WEIGHTS OUT BATCH SEQ SEED
 *       writes the model's weights, then tokens (I32) and logits (F32) to OUT
 *   model_tool logits MODEL OUT BATCH SEQ SEED
 *       opens MODEL as --model does (tiny, small, a spec, a checkpoint
 *       directory), writes random tokens (I32) and their logits (F32) to OUT
 *   model_tool convert IN OUT
 *       reads every tensor of IN as float and writes it as F32 to OUT
 *   model_tool hash SPEC
 *       prints the weights' FNV-1a hash and the parameter count
 *   model_tool bench SPEC BATCH SEQ [THREADS]
 *       times weight generation and one forward pass over random tokens, the
 *       matrix multiplies on THREADS threads (default 1)
 * Exit status 0 on success, 1 with a diagnostic on stderr otherwise. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/forward.h"
#include "model/model.h"
#include "model/safetensors.h"

static ms_status dump(char **argv, ms_diag *diag)
{
    ms_model *model;
    ms_status st = ms_model_load(argv[0], &model, diag);
    if (st != MS_OK)
        return st;
    ms_tokens tokens = {0};
    float *logits = NULL;
    ms_st_writer *w = NULL;
    st = ms_model_save_weights(model, argv[1], diag);
    if (st == MS_OK)
        st = ms_tokens_random(strtoull(argv[5], NULL, 10), strtoul(argv[3], NULL, 10),
                              strtoul(argv[4], NULL, 10),
                              (size_t)ms_model_get_spec(model)->vocab_size, &tokens, diag);
    size_t vocab = (size_t)ms_model_get_spec(model)->vocab_size;
    if (st == MS_OK) {
        logits = malloc(tokens.batch * tokens.seq * vocab * sizeof *logits);
        st = logits ? ms_forward_run(model, &tokens, NULL, NULL, NULL, logits, diag) : MS_ERR_NOMEM;
    }
    if (st == MS_OK)
        st = ms_st_writer_new(&w);
    size_t tshape[2] = {tokens.batch, tokens.seq}, lshape[3] = {tokens.batch, tokens.seq, vocab};
    if (st == MS_OK)
        st = ms_st_writer_add(w, "tokens", MS_ST_I32, tshape, 2, tokens.ids, diag);
    if (st == MS_OK)
        st = ms_st_writer_add(w, "logits", MS_ST_F32, lshape, 3, logits, diag);
    if (st == MS_OK)
        st = ms_st_write(w, argv[2], diag);
    ms_st_writer_free(w);
    free(logits);
    ms_tokens_free(&tokens);
    ms_model_free(model);
    return st;
}

static ms_status logits_of(char **argv, ms_diag *diag)
{
    ms_model *model;
    ms_status st = ms_model_open(argv[0], &model, diag);
    if (st != MS_OK)
        return st;
    size_t vocab = (size_t)ms_model_get_spec(model)->vocab_size;
    ms_tokens tokens = {0};
    float *logits = NULL;
    ms_st_writer *w = NULL;
    st = ms_tokens_random(strtoull(argv[4], NULL, 10), strtoul(argv[2], NULL, 10),
                          strtoul(argv[3], NULL, 10), vocab, &tokens, diag);
    if (st == MS_OK) {
        logits = malloc(tokens.batch * tokens.seq * vocab * sizeof *logits);
        st = logits ? ms_forward_run(model, &tokens, NULL, NULL, NULL, logits, diag) : MS_ERR_NOMEM;
    }
    if (st == MS_OK)
        st = ms_st_writer_new(&w);
    size_t tshape[2] = {tokens.batch, tokens.seq}, lshape[3] = {tokens.batch, tokens.seq, vocab};
    if (st == MS_OK)
        st = ms_st_writer_add(w, "tokens", MS_ST_I32, tshape, 2, tokens.ids, diag);
    if (st == MS_OK)
        st = ms_st_writer_add(w, "logits", MS_ST_F32, lshape, 3, logits, diag);
    if (st == MS_OK)
        st = ms_st_write(w, argv[1], diag);
    ms_st_writer_free(w);
    free(logits);
    ms_tokens_free(&tokens);
    ms_model_free(model);
    return st;
}

static ms_status convert(char **argv, ms_diag *diag)
{
    ms_st_file *in;
    ms_status st = ms_st_open(argv[0], &in, diag);
    if (st != MS_OK)
        return st;
    size_t n = ms_st_count(in);
    float **data = calloc(n ? n : 1, sizeof *data);
    ms_st_writer *w = NULL;
    st = data ? ms_st_writer_new(&w) : MS_ERR_NOMEM;
    for (size_t i = 0; i < n && st == MS_OK; i++) {
        const ms_st_tensor *t = ms_st_at(in, i);
        data[i] = malloc((t->numel ? t->numel : 1) * sizeof(float));
        st = data[i] ? ms_st_to_float(in, t, data[i], diag) : MS_ERR_NOMEM;
        if (st == MS_OK)
            st = ms_st_writer_add(w, t->name, MS_ST_F32, t->shape, t->ndim, data[i], diag);
    }
    if (st == MS_OK)
        st = ms_st_write(w, argv[1], diag);
    ms_st_writer_free(w);
    for (size_t i = 0; data && i < n; i++)
        free(data[i]);
    free(data);
    ms_st_close(in);
    return st;
}

static ms_status hash(char **argv, ms_diag *diag)
{
    ms_model *model;
    ms_status st = ms_model_load(argv[0], &model, diag);
    if (st != MS_OK)
        return st;
    printf("%016" PRIx64 " %zu\n", ms_model_weights_hash(model), ms_model_param_count(model));
    ms_model_free(model);
    return MS_OK;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static ms_status bench(char **argv, ms_diag *diag)
{
    double t0 = now();
    ms_model *model;
    ms_status st = ms_model_load(argv[0], &model, diag);
    if (st != MS_OK)
        return st;
    double t1 = now();
    ms_tokens tokens;
    size_t vocab = (size_t)ms_model_get_spec(model)->vocab_size;
    st = ms_tokens_random(1, strtoul(argv[1], NULL, 10), strtoul(argv[2], NULL, 10), vocab, &tokens,
                          diag);
    float *logits = NULL;
    if (st == MS_OK) {
        logits = malloc(tokens.batch * tokens.seq * vocab * sizeof *logits);
        st = logits ? MS_OK : MS_ERR_NOMEM;
    }
    ms_pool *pool = NULL;
    if (st == MS_OK && argv[3])
        st = ms_pool_create(strtoul(argv[3], NULL, 10), &pool, diag);
    double t2 = now();
    if (st == MS_OK)
        st = ms_forward_run(model, &tokens, pool, NULL, NULL, logits, diag);
    double t3 = now();
    ms_pool_free(pool);
    if (st == MS_OK)
        printf("%zu parameters: weights %.2f s, forward over %zu x %zu tokens %.2f s "
               "(%.1f GFLOP/s at 2 flops per parameter and token)\n",
               ms_model_param_count(model), t1 - t0, tokens.batch, tokens.seq, t3 - t2,
               2.0 * (double)ms_model_param_count(model) * (double)(tokens.batch * tokens.seq) /
                   (t3 - t2) / 1e9);
    free(logits);
    ms_tokens_free(&tokens);
    ms_model_free(model);
    return st;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int args, optional;
        ms_status (*run)(char **argv, ms_diag *diag);
    } commands[] = {{"dump", 6, 0, dump},
                    {"logits", 5, 0, logits_of},
                    {"convert", 2, 0, convert},
                    {"hash", 1, 0, hash},
                    {"bench", 3, 1, bench}};
    for (size_t i = 0; argc > 1 && i < sizeof commands / sizeof commands[0]; i++) {
        int given = argc - 2;
        if (strcmp(argv[1], commands[i].name) || given < commands[i].args ||
            given > commands[i].args + commands[i].optional)
            continue;
        ms_diag diag;
        ms_diag_clear(&diag);
        ms_status st = commands[i].run(argv + 2, &diag);
        if (st != MS_OK) {
            if (!diag.message[0])
                snprintf(diag.message, sizeof diag.message, "%s", ms_status_str(st));
            ms_diag_print(&diag, stderr);
            return 1;
        }
        return 0;
    }
    fprintf(stderr,
            "usage: model_tool dump SPEC WEIGHTS OUT BATCH SEQ SEED | convert IN OUT | "
            "hash SPEC | bench SPEC BATCH SEQ [THREADS] | logits MODEL OUT BATCH SEQ SEED\n");
    return 2;
}
