/* Activation quantization and config groups in the model-backed world:
 * static input scales from the calibration inputs of an unquantized forward
 * (DisableQuantization), computed by hand here; dynamic per-token
 * activations change the evaluation figures and no weight; compressed-
 * tensors' precedence between groups; a step back restores the scales;
 * the thread count changes no bit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/lifecycle.h"
#include "model/forward.h"
#include "model/model.h"
#include "recipe/recipe.h"
#include "sim/pipeline.h"
#include "world/snapshot.h"
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

enum { BATCH = 3, SEQ = 16 };

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

typedef struct run_out {
    ms_world_model *wm;
    ms_world_snapshots *snaps;
    size_t ncalls;
} run_out;

/* Runs `text` as oneshot() (independent pipeline, layer by layer),
 * recording a snapshot after each call. */
static run_out run(const char *text, size_t threads)
{
    ms_recipe *r = NULL;
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(ms_recipe_parse(text, strlen(text), "r.yaml", 0, 0, NULL, &r, &d), MS_OK);
    ms_world_model_config cfg = ms_world_model_defaults();
    cfg.calib_batch = BATCH;
    cfg.calib_seq = SEQ;
    cfg.threads = threads;
    run_out out = {0};
    assert_int_equal(ms_world_model_new(new_model(), r, &cfg, &out.wm, &d), MS_OK);
    ms_pipeline_config pc = ms_pipeline_defaults();
    pc.calibration = MS_PIPELINE_INDEPENDENT;
    pc.layers = 2;
    ms_call *calls = NULL;
    assert_int_equal(ms_pipeline_generate(&pc, r, &calls, &out.ncalls, &d), MS_OK);
    ms_lifecycle *lc = NULL;
    assert_int_equal(ms_recipe_build_lifecycle(r, &lc, &d), MS_OK);
    assert_int_equal(ms_lifecycle_set_world(lc, ms_world_model_world(out.wm)), MS_OK);
    ms_lifecycle_set_calibration_data(lc, true);
    assert_int_equal(ms_world_snapshots_new(out.wm, &out.snaps, &d), MS_OK);
    for (size_t i = 0; i < out.ncalls; i++) {
        ms_raise raised;
        assert_int_equal(ms_call_run(&calls[i], lc, &raised), MS_OK);
        assert_int_equal(ms_world_snapshots_push(out.snaps, &d), MS_OK);
    }
    assert_int_equal(ms_world_model_error(out.wm, &d), MS_OK);
    free(calls);
    ms_lifecycle_free(lc);
    ms_recipe_free(r);
    return out;
}

static void done(run_out *o)
{
    ms_world_snapshots_free(o->snaps);
    ms_world_model_free(o->wm);
}

static const ms_world_module_row *row(const ms_world_module_row *rows, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(rows[i].name, name))
            return &rows[i];
    fail_msg("no row %s", name);
    return NULL;
}

/* Static W8A8: q_proj's group (a regex, ahead of the class target) observes
 * with static_minmax, the others with the default memoryless_minmax. */
static const char static_w8a8[] =
    "quant_stage:\n"
    "  quant_modifiers:\n"
    "    QuantizationModifier:\n"
    "      ignore: [lm_head]\n"
    "      config_groups:\n"
    "        group_0:\n"
    "          targets: [Linear]\n"
    "          weights: {num_bits: 8, type: int, symmetric: true, strategy: channel}\n"
    "          input_activations: {num_bits: 8, type: int, symmetric: true, strategy: tensor}\n"
    "        group_1:\n"
    "          targets: ['re:.*q_proj$']\n"
    "          weights: {num_bits: 4, type: int, symmetric: true, strategy: channel}\n"
    "          input_activations: {num_bits: 8, type: int, symmetric: true, strategy: tensor,\n"
    "                              observer: static_minmax}\n";

typedef struct probe {
    size_t q1, down1;         /* modules */
    float q_min, q_max;       /* over every batch */
    float down_min, down_max; /* over the last batch */
} probe;

static ms_status look(size_t module, const char *name, const float *x, size_t rows, size_t cols,
                      void *user, ms_diag *diag)
{
    (void)name;
    (void)diag;
    probe *p = user;
    if (module == p->q1) {
        p->q_min = p->q_max = x[0];
        for (size_t i = 0; i < rows * cols; i++) {
            p->q_min = fminf(p->q_min, x[i]);
            p->q_max = fmaxf(p->q_max, x[i]);
        }
    } else if (module == p->down1) {
        const float *last = x + (BATCH - 1) * SEQ * cols;
        p->down_min = p->down_max = last[0];
        for (size_t i = 0; i < SEQ * cols; i++) {
            p->down_min = fminf(p->down_min, last[i]);
            p->down_max = fmaxf(p->down_max, last[i]);
        }
    }
    return MS_OK;
}

static void static_scales_from_unquantized_inputs(void **state)
{
    (void)state;
    run_out o = run(static_w8a8, 1);
    /* the calibration forward is the float model's: layer 1's inputs do
     * not see layer 0 quantized */
    ms_model *m = new_model();
    probe p = {0};
    assert_true(ms_model_find(m, "model.layers.1.self_attn.q_proj", &p.q1));
    assert_true(ms_model_find(m, "model.layers.1.mlp.down_proj", &p.down1));
    ms_tokens tokens;
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(ms_tokens_random(0, BATCH, SEQ, 64, &tokens, &d), MS_OK);
    assert_int_equal(ms_forward_run(m, &tokens, NULL, look, &p, NULL, &d), MS_OK);
    ms_world_module_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(ms_world_model_rows(o.wm, &rows, &n, &d), MS_OK);
    /* symmetric int8: max(|min|, |max|) / 127.5 */
    float q_scale = fmaxf(fabsf(fminf(p.q_min, 0)), fmaxf(p.q_max, 0)) / 127.5f;
    float down_scale = fmaxf(fabsf(fminf(p.down_min, 0)), fmaxf(p.down_max, 0)) / 127.5f;
    const ms_world_module_row *q = row(rows, n, "model.layers.1.self_attn.q_proj");
    const ms_world_module_row *down = row(rows, n, "model.layers.1.mlp.down_proj");
    assert_float_equal(q->input_scale, q_scale, 0);
    assert_float_equal(down->input_scale, down_scale, 0);
    /* the regex group wins over the class one for q_proj (match.py:141) */
    assert_int_equal(q->bits, 4);
    assert_int_equal(down->bits, 8);
    assert_string_equal(q->act, "8/st");
    assert_string_equal(row(rows, n, "lm_head")->act, "-");
    free(rows);
    ms_tokens_free(&tokens);
    ms_model_free(m);
    done(&o);
}

static const char dynamic_w8a8[] = "quant_stage:\n"
                                   "  quant_modifiers:\n"
                                   "    QuantizationModifier:\n"
                                   "      ignore: [lm_head]\n"
                                   "      scheme: W8A8\n";

static const char weights_w8[] =
    "quant_stage:\n"
    "  quant_modifiers:\n"
    "    QuantizationModifier:\n"
    "      ignore: [lm_head]\n"
    "      config_groups:\n"
    "        group_0:\n"
    "          targets: [Linear]\n"
    "          weights: {num_bits: 8, type: int, symmetric: true, strategy: channel}\n";

static void dynamic_tokens_change_figures_not_weights(void **state)
{
    (void)state;
    run_out a = run(dynamic_w8a8, 1), b = run(weights_w8, 1);
    assert_true(ms_world_model_checksum(a.wm) == ms_world_model_checksum(b.wm));
    ms_world_metrics ma, mb;
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(ms_world_model_evaluate(a.wm, &ma, &d), MS_OK);
    assert_int_equal(ms_world_model_evaluate(b.wm, &mb, &d), MS_OK);
    assert_true(ma.kl != mb.kl);
    assert_true(ma.kl > 0 && mb.kl > 0);
    ms_world_module_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(ms_world_model_rows(a.wm, &rows, &n, &d), MS_OK);
    assert_string_equal(row(rows, n, "model.layers.0.mlp.up_proj")->act, "8/tok");
    free(rows);
    done(&a);
    done(&b);
}

/* An exact name beats a regex, which beats a class; a target two groups
 * name belongs to the later one (apply.py:133-135). */
static const char precedence[] =
    "quant_stage:\n"
    "  quant_modifiers:\n"
    "    QuantizationModifier:\n"
    "      config_groups:\n"
    "        a:\n"
    "          targets: [model.layers.0.mlp.up_proj, Linear]\n"
    "          weights: {num_bits: 8, type: int, symmetric: true, strategy: channel}\n"
    "        b:\n"
    "          targets: ['re:.*mlp.*']\n"
    "          weights: {num_bits: 4, type: int, symmetric: true, strategy: channel}\n"
    "        c:\n"
    "          targets: ['re:.*mlp.*']\n"
    "          weights: {num_bits: 6, type: int, symmetric: true, strategy: channel}\n";

static void precedence_between_groups(void **state)
{
    (void)state;
    run_out o = run(precedence, 1);
    ms_world_module_row *rows = NULL;
    size_t n = 0;
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(ms_world_model_rows(o.wm, &rows, &n, &d), MS_OK);
    assert_int_equal(row(rows, n, "model.layers.0.mlp.up_proj")->bits, 8);
    assert_int_equal(row(rows, n, "model.layers.1.mlp.up_proj")->bits, 6);
    assert_int_equal(row(rows, n, "model.layers.0.self_attn.k_proj")->bits, 8);
    assert_int_equal(row(rows, n, "lm_head")->bits, 8);
    free(rows);
    done(&o);
}

static void step_back_restores_scales(void **state)
{
    (void)state;
    run_out o = run(static_w8a8, 1);
    ms_diag d;
    ms_diag_clear(&d);
    ms_world_module_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(ms_world_model_rows(o.wm, &rows, &n, &d), MS_OK);
    double end_scale = row(rows, n, "model.layers.1.self_attn.q_proj")->input_scale;
    free(rows);
    uint64_t end_sum = ms_world_model_checksum(o.wm);
    assert_int_equal(ms_world_snapshots_restore(o.snaps, 0, &d), MS_OK);
    assert_int_equal(ms_world_model_rows(o.wm, &rows, &n, &d), MS_OK);
    assert_float_equal(row(rows, n, "model.layers.1.self_attn.q_proj")->input_scale, 0, 0);
    free(rows);
    assert_true(ms_world_model_checksum(o.wm) == ms_world_snapshots_checksum(o.snaps, 0));
    /* forward again to the end: the end's scale and weights */
    assert_int_equal(ms_world_snapshots_restore(o.snaps, 0, &d), MS_OK);
    done(&o);
    o = run(static_w8a8, 1);
    assert_int_equal(ms_world_model_rows(o.wm, &rows, &n, &d), MS_OK);
    assert_float_equal(row(rows, n, "model.layers.1.self_attn.q_proj")->input_scale, end_scale, 0);
    free(rows);
    assert_true(ms_world_model_checksum(o.wm) == end_sum);
    done(&o);
}

static void threads_change_no_bit(void **state)
{
    (void)state;
    run_out a = run(static_w8a8, 1), b = run(static_w8a8, 2);
    assert_true(ms_world_model_checksum(a.wm) == ms_world_model_checksum(b.wm));
    ms_world_metrics ma, mb;
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(ms_world_model_evaluate(a.wm, &ma, &d), MS_OK);
    assert_int_equal(ms_world_model_evaluate(b.wm, &mb, &d), MS_OK);
    assert_memory_equal(&ma, &mb, sizeof ma);
    done(&a);
    done(&b);
}

static const char kv_cache[] = "quant_stage:\n"
                               "  quant_modifiers:\n"
                               "    QuantizationModifier:\n"
                               "      kv_cache_scheme:\n"
                               "        {num_bits: 8, type: float, symmetric: true, strategy: "
                               "tensor}\n";

typedef struct kv_probe {
    size_t layer;
    float k_amax, v_amax; /* over the last batch */
} kv_probe;

static ms_status look_kv(void *user, size_t layer, float *k, float *v, size_t rows, size_t cols,
                         ms_diag *diag)
{
    (void)diag;
    (void)rows;
    kv_probe *p = user;
    if (layer != p->layer)
        return MS_OK;
    p->k_amax = p->v_amax = 0;
    for (size_t i = (BATCH - 1) * SEQ * cols; i < BATCH * SEQ * cols; i++) {
        p->k_amax = fmaxf(p->k_amax, fabsf(k[i]));
        p->v_amax = fmaxf(p->v_amax, fabsf(v[i]));
    }
    return MS_OK;
}

/* k_scale and v_scale from the keys and values after RoPE (memoryless:
 * the last batch, fp8: amax / 448); the weights stay, the figures move. */
static void kv_cache_scales(void **state)
{
    (void)state;
    run_out o = run(kv_cache, 1);
    ms_model *m = new_model();
    ms_tokens tokens;
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(ms_tokens_random(0, BATCH, SEQ, 64, &tokens, &d), MS_OK);
    kv_probe p = {.layer = 1};
    ms_forward_quant q = {.kv = look_kv, .user = &p};
    ms_forward *fw = NULL;
    assert_int_equal(ms_forward_new(m, &tokens, NULL, &fw, &d), MS_OK);
    ms_forward_set_quant(fw, &q);
    for (size_t l = 0; l < 2; l++)
        assert_int_equal(ms_forward_layer(fw, l, NULL, NULL, &d), MS_OK);
    ms_forward_free(fw);
    double k, v;
    assert_true(ms_world_model_kv_scale(o.wm, 1, &k, &v));
    assert_float_equal(k, p.k_amax / 448.0f, 0);
    assert_float_equal(v, p.v_amax / 448.0f, 0);
    ms_world_metrics mt;
    assert_int_equal(ms_world_model_evaluate(o.wm, &mt, &d), MS_OK);
    assert_true(mt.kl > 0);
    assert_true(ms_world_model_checksum(o.wm) == ms_world_snapshots_checksum(o.snaps, 0));
    assert_int_equal(ms_world_snapshots_restore(o.snaps, 0, &d), MS_OK);
    assert_false(ms_world_model_kv_scale(o.wm, 1, &k, &v));
    ms_tokens_free(&tokens);
    ms_model_free(m);
    done(&o);
}

static void refusals(void **state)
{
    (void)state;
    static const char *const bad[] = {
        /* static token: QuantizationArgs' ValueError */
        "q_stage:\n  m_modifiers:\n    QuantizationModifier:\n      config_groups:\n        g:\n"
        "          targets: [Linear]\n"
        "          input_activations: {num_bits: 8, strategy: token}\n",
        /* static output activations */
        "q_stage:\n  m_modifiers:\n    QuantizationModifier:\n      config_groups:\n        g:\n"
        "          targets: [Linear]\n"
        "          output_activations: {num_bits: 8, strategy: tensor}\n",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ms_recipe *r = NULL;
        ms_diag d;
        ms_diag_clear(&d);
        assert_int_equal(ms_recipe_parse(bad[k], strlen(bad[k]), "r.yaml", 0, 0, NULL, &r, &d),
                         MS_OK);
        ms_world_model_config cfg = ms_world_model_defaults();
        cfg.calib_batch = 1;
        cfg.calib_seq = 4;
        ms_world_model *wm = NULL;
        assert_int_equal(ms_world_model_new(new_model(), r, &cfg, &wm, &d), MS_ERR_INVALID);
        assert_string_equal(d.code, "E-WORLD-SCHEME");
        assert_int_equal(d.line, 7);
        ms_recipe_free(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(static_scales_from_unquantized_inputs),
        cmocka_unit_test(dynamic_tokens_change_figures_not_weights),
        cmocka_unit_test(precedence_between_groups),
        cmocka_unit_test(step_back_restores_scales),
        cmocka_unit_test(threads_change_no_bit),
        cmocka_unit_test(kv_cache_scales),
        cmocka_unit_test(refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
