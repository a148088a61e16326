/* Calibration forward pass: causality, observers, tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/forward.h"

static const char spec_text[] = "hidden_size: 64\n"
                                "intermediate_size: 96\n"
                                "num_layers: 2\n"
                                "num_heads: 4\n"
                                "num_kv_heads: 2\n"
                                "vocab_size: 300\n"
                                "rope_theta: 10000.0\n"
                                "rms_norm_eps: 1.0e-5\n"
                                "seed: 7\n"
                                "outliers: {count: 3, scale: 20.0}\n";

enum { VOCAB = 300, SEQ = 12 };

static ms_model *model;

static int setup(void **state)
{
    (void)state;
    ms_model_spec spec;
    ms_diag d;
    if (ms_model_spec_parse(spec_text, strlen(spec_text), "t.yaml", &spec, &d) != MS_OK)
        return -1;
    return ms_model_new(&spec, &model, &d) == MS_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ms_model_free(model);
    return 0;
}

static float *run(const ms_tokens *t)
{
    float *logits = malloc(t->batch * t->seq * VOCAB * sizeof *logits);
    ms_diag d;
    assert_int_equal(ms_forward_run(model, t, NULL, NULL, NULL, logits, &d), MS_OK);
    return logits;
}

static void forward_same_logits_with_two_threads(void **state)
{
    (void)state;
    ms_tokens t;
    ms_diag d;
    ms_pool *pool;
    assert_int_equal(ms_tokens_random(5, 2, SEQ, VOCAB, &t, &d), MS_OK);
    assert_int_equal(ms_pool_create(2, &pool, &d), MS_OK);
    float *serial = run(&t), *pooled = malloc(2 * SEQ * VOCAB * sizeof *pooled);
    assert_int_equal(ms_forward_run(model, &t, pool, NULL, NULL, pooled, &d), MS_OK);
    assert_memory_equal(serial, pooled, 2 * SEQ * VOCAB * sizeof *pooled);
    free(serial);
    free(pooled);
    ms_pool_free(pool);
    ms_tokens_free(&t);
}

static void forward_attention_is_causal(void **state)
{
    (void)state;
    ms_tokens t;
    ms_diag d;
    assert_int_equal(ms_tokens_random(3, 1, SEQ, VOCAB, &t, &d), MS_OK);
    float *before = run(&t);
    t.ids[7] = (t.ids[7] + 1) % VOCAB;
    float *after = run(&t);
    assert_memory_equal(before, after, 7 * VOCAB * sizeof *before);
    for (size_t pos = 7; pos < SEQ; pos++) {
        double diff = 0;
        for (size_t v = 0; v < VOCAB; v++)
            diff += fabs(before[pos * VOCAB + v] - after[pos * VOCAB + v]);
        assert_true(diff > 1e-3);
    }
    for (size_t i = 0; i < SEQ * VOCAB; i++)
        assert_true(isfinite(before[i]));
    free(before);
    free(after);
    ms_tokens_free(&t);
}

static void forward_sequences_of_a_batch_are_independent(void **state)
{
    (void)state;
    ms_tokens pair, one;
    ms_diag d;
    assert_int_equal(ms_tokens_random(5, 2, SEQ, VOCAB, &pair, &d), MS_OK);
    assert_int_equal(ms_tokens_random(0, 1, SEQ, VOCAB, &one, &d), MS_OK);
    memcpy(one.ids, pair.ids + SEQ, SEQ * sizeof *one.ids);
    float *both = run(&pair), *second = run(&one);
    assert_memory_equal(both + SEQ * VOCAB, second, SEQ * VOCAB * sizeof *second);
    free(both);
    free(second);
    ms_tokens_free(&pair);
    ms_tokens_free(&one);
}

typedef struct seen {
    size_t calls;
    size_t modules[64];
    size_t rows[64], cols[64];
    const float *inputs[64];
    double outlier_mag, other_mag; /* mean |x| over q_proj inputs */
} seen;

static ms_status record(size_t module, const char *name, const float *inputs, size_t rows,
                        size_t cols, void *user, ms_diag *diag)
{
    (void)diag;
    seen *s = user;
    const ms_module *mod = ms_model_module(model, module);
    assert_string_equal(name, mod->name);
    assert_int_equal(mod->kind, MS_MOD_LINEAR);
    s->modules[s->calls] = module;
    s->rows[s->calls] = rows;
    s->cols[s->calls] = cols;
    s->inputs[s->calls++] = inputs;
    if (strstr(name, "q_proj")) {
        size_t norm;
        char norm_name[64];
        snprintf(norm_name, sizeof norm_name, "model.layers.%d.input_layernorm", mod->layer);
        assert_true(ms_model_find(model, norm_name, &norm));
        float gain[256];
        assert_true(ms_module_numel(ms_model_module(model, norm)) <= 256);
        ms_model_weight_read(model, norm, gain);
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < cols; c++) {
                double m = fabs(inputs[r * cols + c]);
                if (gain[c] == 20.0f)
                    s->outlier_mag += m / 3;
                else
                    s->other_mag += m / (double)(cols - 3);
            }
    }
    return MS_OK;
}

static void forward_observer_sees_every_linear_input(void **state)
{
    (void)state;
    ms_tokens t;
    ms_diag d;
    assert_int_equal(ms_tokens_random(1, 3, SEQ, VOCAB, &t, &d), MS_OK);
    seen s = {0};
    assert_int_equal(ms_forward_run(model, &t, NULL, record, &s, NULL, &d), MS_OK);
    static const char *const order[] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                        "self_attn.o_proj", "mlp.gate_proj",    "mlp.up_proj",
                                        "mlp.down_proj"};
    assert_int_equal(s.calls, 2 * 7 + 1);
    for (size_t i = 0; i < s.calls; i++) {
        const ms_module *mod = ms_model_module(model, s.modules[i]);
        char want[64];
        if (i < 14)
            snprintf(want, sizeof want, "model.layers.%zu.%s", i / 7, order[i % 7]);
        else
            snprintf(want, sizeof want, "lm_head");
        assert_string_equal(mod->name, want);
        assert_int_equal(s.rows[i], 3 * SEQ);
        assert_int_equal(s.cols[i], mod->shape[1]); /* in_features */
    }
    assert_ptr_equal(s.inputs[0], s.inputs[1]); /* q, k, v share their input */
    assert_ptr_equal(s.inputs[0], s.inputs[2]);
    assert_ptr_equal(s.inputs[4], s.inputs[5]); /* gate, up */
    assert_int_equal(s.cols[6], 96);
    /* The outlier channels stand out in the activations, as SmoothQuant needs. */
    assert_true(s.outlier_mag > 5 * s.other_mag);
    ms_tokens_free(&t);
}

static ms_status stop_at_down(size_t module, const char *name, const float *inputs, size_t rows,
                              size_t cols, void *user, ms_diag *diag)
{
    (void)module, (void)inputs, (void)rows, (void)cols;
    ++*(size_t *)user;
    if (strstr(name, "down_proj"))
        return ms_diag_set(diag, MS_ERR_RAISED, "E-TEST", NULL, 0, 0, "stop at %s", name);
    return MS_OK;
}

static void forward_observer_can_stop_the_pass(void **state)
{
    (void)state;
    ms_tokens t;
    ms_diag d;
    assert_int_equal(ms_tokens_random(1, 1, SEQ, VOCAB, &t, &d), MS_OK);
    size_t calls = 0;
    assert_int_equal(ms_forward_run(model, &t, NULL, stop_at_down, &calls, NULL, &d),
                     MS_ERR_RAISED);
    assert_int_equal(calls, 7);
    assert_string_equal(d.message, "stop at model.layers.0.mlp.down_proj");
    ms_tokens_free(&t);
}

/* A modifier may change a layer's weights after calibrating the layers
 * before it (upstream's sequential pipeline): each layer reads its weights
 * when it runs. */
static void forward_layer_by_layer_reads_weights_when_each_layer_runs(void **state)
{
    (void)state;
    ms_tokens t;
    ms_diag d;
    assert_int_equal(ms_tokens_random(2, 1, SEQ, VOCAB, &t, &d), MS_OK);
    float *original = run(&t), *layered = malloc(SEQ * VOCAB * sizeof *layered);
    ms_forward *fw;
    assert_int_equal(ms_forward_new(model, &t, NULL, &fw, &d), MS_OK);
    assert_int_equal(ms_forward_logits(fw, NULL, NULL, layered, &d), MS_ERR_INVALID);
    assert_int_equal(ms_forward_layer(fw, 1, NULL, NULL, &d), MS_ERR_INVALID);
    assert_int_equal(ms_forward_layer(fw, 0, NULL, NULL, &d), MS_OK);
    size_t q;
    assert_true(ms_model_find(model, "model.layers.1.self_attn.q_proj", &q));
    size_t n = ms_module_numel(ms_model_module(model, q));
    float *w = malloc(n * sizeof *w), *saved = malloc(n * sizeof *saved);
    assert_non_null(w);
    assert_non_null(saved);
    ms_model_weight_read(model, q, saved);
    memcpy(w, saved, n * sizeof *w);
    memset(w, 0, 64 * sizeof *w); /* "prune" a row of layer 1 between the layers */
    ms_model_weight_write(model, q, w);
    assert_int_equal(ms_forward_layer(fw, 1, NULL, NULL, &d), MS_OK);
    assert_int_equal(ms_forward_logits(fw, NULL, NULL, layered, &d), MS_OK);
    ms_forward_free(fw);
    float *pruned = run(&t);
    assert_memory_equal(layered, pruned, SEQ * VOCAB * sizeof *pruned);
    assert_memory_not_equal(layered, original, SEQ * VOCAB * sizeof *pruned);
    ms_model_weight_write(model, q, saved);
    free(w);
    free(saved);
    free(original);
    free(layered);
    free(pruned);
    ms_tokens_free(&t);
}

/* A sequential run's next collect resumes at a layer from the residual
 * stream kept there; the version of that input changes exactly when a weight
 * it depends on (embedding, earlier layers) is written. */
static void forward_resumes_from_a_kept_stream(void **state)
{
    (void)state;
    ms_tokens t;
    ms_diag d;
    assert_int_equal(ms_tokens_random(3, 2, SEQ, VOCAB, &t, &d), MS_OK);
    float *full = run(&t), *resumed = malloc(2 * SEQ * VOCAB * sizeof *resumed);
    ms_forward *fw;
    assert_int_equal(ms_forward_new(model, &t, NULL, &fw, &d), MS_OK);
    assert_int_equal(ms_forward_layer(fw, 0, NULL, NULL, &d), MS_OK);
    size_t n = 2 * SEQ * 64;
    float *stream = malloc(n * sizeof *stream);
    memcpy(stream, ms_forward_hidden(fw), n * sizeof *stream);
    ms_forward_free(fw);
    assert_int_equal(ms_forward_resume(model, &t, NULL, 2, stream, &fw, &d), MS_ERR_INVALID);
    assert_int_equal(ms_forward_resume(model, &t, NULL, 1, stream, &fw, &d), MS_OK);
    assert_int_equal(ms_forward_layer(fw, 1, NULL, NULL, &d), MS_OK);
    assert_int_equal(ms_forward_logits(fw, NULL, NULL, resumed, &d), MS_OK);
    ms_forward_free(fw);
    assert_memory_equal(full, resumed, 2 * SEQ * VOCAB * sizeof *resumed);

    size_t q0, q1, norm;
    assert_true(ms_model_find(model, "model.layers.0.self_attn.q_proj", &q0));
    assert_true(ms_model_find(model, "model.layers.1.self_attn.q_proj", &q1));
    assert_true(ms_model_find(model, "model.norm", &norm));
    uint64_t v1 = ms_model_input_version(model, 1), v2 = ms_model_input_version(model, 2);
    float *w = malloc(ms_module_numel(ms_model_module(model, q1)) * sizeof *w);
    ms_model_weight_read(model, q1, w);
    ms_model_weight_write(model, q1, w);
    assert_true(ms_model_input_version(model, 1) == v1);
    assert_true(ms_model_input_version(model, 2) != v2);
    ms_model_weight_read(model, q0, w);
    ms_model_weight_write(model, q0, w);
    assert_true(ms_model_input_version(model, 1) != v1);
    v1 = ms_model_input_version(model, 1);
    float nw[64];
    ms_model_weight_read(model, norm, nw);
    ms_model_weight_write(model, norm, nw);
    assert_true(ms_model_input_version(model, 1) == v1);
    free(w);
    free(stream);
    free(full);
    free(resumed);
    ms_tokens_free(&t);
}

static void forward_tokens_are_seeded_and_checked(void **state)
{
    (void)state;
    ms_tokens a, b, c;
    ms_diag d;
    assert_int_equal(ms_tokens_random(42, 2, 50, VOCAB, &a, &d), MS_OK);
    assert_int_equal(ms_tokens_random(42, 2, 50, VOCAB, &b, &d), MS_OK);
    assert_int_equal(ms_tokens_random(43, 2, 50, VOCAB, &c, &d), MS_OK);
    assert_memory_equal(a.ids, b.ids, 100 * sizeof *a.ids);
    assert_memory_not_equal(a.ids, c.ids, 100 * sizeof *a.ids);
    for (size_t i = 0; i < 100; i++)
        assert_true(a.ids[i] >= 0 && a.ids[i] < VOCAB);
    a.ids[57] = VOCAB;
    ms_forward *fw = NULL;
    assert_int_equal(ms_forward_new(model, &a, NULL, &fw, &d), MS_ERR_INVALID);
    assert_null(fw);
    assert_non_null(strstr(d.message, "token 7 of sequence 1 is 300"));
    assert_int_equal(ms_tokens_random(1, 0, 5, VOCAB, &c, &d), MS_ERR_INVALID);
    ms_tokens_free(&a);
    ms_tokens_free(&b);
    ms_tokens_free(&c);
}

static void forward_text_files_are_tokenized_by_bytes(void **state)
{
    (void)state;
    char path[] = "/tmp/modsim-text-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "Hello, calibration!\n\xc3\xa9t\xc3\xa9"; /* 25 bytes */
    assert_int_equal(write(fd, text, sizeof text - 1), sizeof text - 1);
    close(fd);
    ms_tokens t;
    ms_diag d;
    assert_int_equal(ms_tokens_from_text(path, 8, 10, VOCAB, &t, &d), MS_OK);
    assert_int_equal(t.batch, 3); /* 25 bytes: three sequences of 8, one byte dropped */
    assert_int_equal(t.seq, 8);
    assert_int_equal(t.ids[0], 'H');
    assert_int_equal(t.ids[20], 0xc3);
    float *logits = run(&t);
    free(logits);
    ms_tokens_free(&t);
    assert_int_equal(ms_tokens_from_text(path, 8, 2, VOCAB, &t, &d), MS_OK);
    assert_int_equal(t.batch, 2);
    ms_tokens_free(&t);
    assert_int_equal(ms_tokens_from_text(path, 64, 2, VOCAB, &t, &d), MS_ERR_INVALID);
    assert_non_null(strstr(d.message, "fewer than one sequence of 64"));
    assert_int_equal(ms_tokens_from_text(path, 8, 2, 100, &t, &d), MS_ERR_INVALID);
    assert_non_null(strstr(d.message, "at least 256"));
    unlink(path);
    assert_int_equal(ms_tokens_from_text(path, 8, 2, VOCAB, &t, &d), MS_ERR_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forward_attention_is_causal),
        cmocka_unit_test(forward_same_logits_with_two_threads),
        cmocka_unit_test(forward_sequences_of_a_batch_are_independent),
        cmocka_unit_test(forward_observer_sees_every_linear_input),
        cmocka_unit_test(forward_observer_can_stop_the_pass),
        cmocka_unit_test(forward_layer_by_layer_reads_weights_when_each_layer_runs),
        cmocka_unit_test(forward_resumes_from_a_kept_stream),
        cmocka_unit_test(forward_tokens_are_seeded_and_checked),
        cmocka_unit_test(forward_text_files_are_tokenized_by_bytes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
