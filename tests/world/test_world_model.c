/* The model-backed world: the sequential pipeline calibrates layer i + 1 on
 * the outputs of compressed layer i; the pool's thread count changes no bit;
 * magnitude pruning reaches the scheduled sparsity; a scheme the world cannot
 * apply is refused at its line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/lifecycle.h"
#include "model/model.h"
#include "recipe/recipe.h"
#include "sim/pipeline.h"
#include "world/world_model.h"

static const char spec_text[] = "hidden_size: 32\n"
                                "intermediate_size: 64\n"
                                "num_layers: 2\n"
                                "num_heads: 4\n"
                                "num_kv_heads: 2\n"
                                "vocab_size: 64\n"
                                "rope_theta: 10000.0\n"
                                "rms_norm_eps: 1.0e-5\n"
                                "seed: 7\n";

static ms_model *new_model(void)
{
    ms_model_spec spec;
    ms_model *model = NULL;
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(ms_model_spec_parse(spec_text, strlen(spec_text), "spec.yaml", &spec, &d),
                     MS_OK);
    assert_int_equal(ms_model_new(&spec, &model, &d), MS_OK);
    return model;
}

static ms_recipe *parse(const char *text)
{
    ms_recipe *r = NULL;
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(ms_recipe_parse(text, strlen(text), "r.yaml", 0, 0, NULL, &r, &d), MS_OK);
    return r;
}

/* Runs `recipe` as oneshot(pipeline=how) and returns the world after it. */
static ms_world_model *run(const char *text, ms_pipeline how, size_t threads)
{
    ms_recipe *r = parse(text);
    ms_world_model_config cfg = ms_world_model_defaults();
    cfg.calib_batch = 2;
    cfg.calib_seq = 16;
    cfg.threads = threads;
    ms_world_model *wm = NULL;
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(ms_world_model_new(new_model(), r, &cfg, &wm, &d), MS_OK);
    ms_pipeline_config pc = ms_pipeline_defaults();
    pc.calibration = how;
    pc.layers = 2;
    ms_call *calls = NULL;
    size_t n = 0;
    assert_int_equal(ms_pipeline_generate(&pc, r, &calls, &n, &d), MS_OK);
    ms_lifecycle *lc = NULL;
    assert_int_equal(ms_recipe_build_lifecycle(r, &lc, &d), MS_OK);
    assert_int_equal(ms_lifecycle_set_world(lc, ms_world_model_world(wm)), MS_OK);
    ms_lifecycle_set_calibration_data(lc, true);
    for (size_t m = 0; m < ms_recipe_count(r); m++)
        ms_world_model_set_calibration(
            wm, m, how == MS_PIPELINE_BASIC ? MS_WORLD_WHOLE : MS_WORLD_LAYERWISE);
    for (size_t i = 0; i < n; i++) {
        ms_raise raised;
        assert_int_equal(ms_call_run(&calls[i], lc, &raised), MS_OK);
    }
    assert_int_equal(ms_world_model_error(wm, &d), MS_OK);
    free(calls);
    ms_lifecycle_free(lc);
    ms_recipe_free(r);
    return wm;
}

static const char sparsegpt[] = "s_stage:\n"
                                "  m_modifiers:\n"
                                "    SparseGPTModifier:\n"
                                "      sparsity: 0.5\n"
                                "      targets: [Linear]\n"
                                "      ignore: [lm_head]\n";

static void weight(const ms_world_model *wm, const char *name, float **out, size_t *n)
{
    const ms_model *m = ms_world_model_model(wm);
    size_t i;
    assert_true(ms_model_find(m, name, &i));
    *n = ms_module_numel(ms_model_module(m, i));
    *out = malloc(*n * sizeof **out);
    assert_non_null(*out);
    ms_model_weight_read(m, i, *out);
}

/* Layer 0 sees the same inputs either way; layer 1 sees compressed layer 0's
 * outputs under the sequential pipeline and uncompressed ones under basic. */
static void sequential_calibrates_on_compressed_layers(void **state)
{
    (void)state;
    ms_world_model *seq = run(sparsegpt, MS_PIPELINE_SEQUENTIAL, 1);
    ms_world_model *basic = run(sparsegpt, MS_PIPELINE_BASIC, 1);
    float *a, *b;
    size_t na, nb;
    weight(seq, "model.layers.0.mlp.down_proj", &a, &na);
    weight(basic, "model.layers.0.mlp.down_proj", &b, &nb);
    assert_memory_equal(a, b, na * sizeof *a);
    free(a);
    free(b);
    weight(seq, "model.layers.1.self_attn.q_proj", &a, &na);
    weight(basic, "model.layers.1.self_attn.q_proj", &b, &nb);
    assert_true(memcmp(a, b, na * sizeof *a) != 0);
    size_t zeros = 0;
    for (size_t i = 0; i < na; i++)
        zeros += a[i] == 0;
    /* one block of 32 columns: the score at sorted index 512 and all below it
     * go (sparsegpt.h; sgpt_sparsify.py's mask = tmp <= thresh) */
    assert_int_equal(zeros, na / 2 + 1);
    free(a);
    free(b);
    ms_world_model_free(seq);
    ms_world_model_free(basic);
}

static void threads_change_no_bit(void **state)
{
    (void)state;
    static const char recipe[] = "s_stage:\n"
                                 "  m_modifiers:\n"
                                 "    SmoothQuantModifier:\n"
                                 "      smoothing_strength: 0.8\n"
                                 "    GPTQModifier:\n"
                                 "      scheme: W8A8\n"
                                 "      ignore: [lm_head]\n";
    ms_world_model *one = run(recipe, MS_PIPELINE_SEQUENTIAL, 1);
    ms_world_model *two = run(recipe, MS_PIPELINE_SEQUENTIAL, 2);
    assert_int_equal(ms_model_weights_hash(ms_world_model_model(one)),
                     ms_model_weights_hash(ms_world_model_model(two)));
    ms_world_module_row *rows;
    size_t n;
    ms_diag d;
    assert_int_equal(ms_world_model_rows(one, &rows, &n, &d), MS_OK);
    assert_int_equal(n, 15); /* 7 Linears per layer and lm_head */
    assert_string_equal(rows[0].name, "model.layers.0.self_attn.q_proj");
    assert_int_equal(rows[0].owner, 1);
    assert_int_equal(rows[0].bits, 8);
    assert_int_equal(rows[14].owner, -1);
    free(rows);
    ms_world_metrics a, b;
    assert_int_equal(ms_world_model_evaluate(one, &a, &d), MS_OK);
    assert_int_equal(ms_world_model_evaluate(two, &b, &d), MS_OK);
    assert_memory_equal(&a, &b, sizeof a);
    assert_true(a.kl > 0 && a.top1 > 0.5 && a.top1 <= 1);
    ms_world_model_free(one);
    ms_world_model_free(two);
}

static void magnitude_reaches_its_sparsity(void **state)
{
    (void)state;
    ms_recipe *r = parse("s_stage:\n"
                         "  m_modifiers:\n"
                         "    MagnitudePruningModifier:\n"
                         "      init_sparsity: 0.1\n"
                         "      final_sparsity: 0.5\n"
                         "      start: 0\n"
                         "      end: 1\n"
                         "      targets: [\"re:.*q_proj.weight\"]\n");
    ms_world_model_config cfg = ms_world_model_defaults();
    ms_world_model *wm = NULL;
    ms_diag d;
    assert_int_equal(ms_world_model_new(new_model(), r, &cfg, &wm, &d), MS_OK);
    ms_world w = ms_world_model_world(wm);
    size_t st = 0;
    w.ops->apply_mask(w.self, &st, 0, 0.25);
    float *q;
    size_t n;
    weight(wm, "model.layers.1.self_attn.q_proj", &q, &n);
    size_t zeros = 0;
    for (size_t i = 0; i < n; i++)
        zeros += q[i] == 0;
    assert_int_equal(zeros, n / 4);
    free(q);
    weight(wm, "model.layers.1.self_attn.k_proj", &q, &n);
    for (size_t i = 0; i < n; i++)
        assert_true(q[i] != 0);
    free(q);
    ms_world_model_free(wm);
    ms_recipe_free(r);
}

static void unknown_scheme_is_refused_at_its_line(void **state)
{
    (void)state;
    ms_recipe *r = parse("s_stage:\n"
                         "  m_modifiers:\n"
                         "    GPTQModifier:\n"
                         "      scheme: MXFP4\n");
    ms_world_model_config cfg = ms_world_model_defaults();
    ms_world_model *wm = NULL;
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(ms_world_model_new(new_model(), r, &cfg, &wm, &d), MS_ERR_INVALID);
    assert_null(wm);
    assert_string_equal(d.code, "E-WORLD-SCHEME");
    assert_int_equal(d.line, 4);
    assert_non_null(strstr(d.message, "MXFP4"));
    ms_recipe_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sequential_calibrates_on_compressed_layers),
        cmocka_unit_test(threads_change_no_bit),
        cmocka_unit_test(magnitude_reaches_its_sparsity),
        cmocka_unit_test(unknown_scheme_is_refused_at_its_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
