/* The model-backed world: the sequential pipeline calibrates layer i + 1 on
 * the outputs of compressed layer i; the pool's thread count changes no bit;
 * magnitude pruning reaches the scheduled sparsity; a scheme the world cannot
 * apply is refused at its line. */
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

/* Runs `recipe` as oneshot(pipeline=how) and returns the world after it,
 * with the world's first failure in *status. */
static ms_world_model *run_status(const char *text, ms_pipeline how, size_t threads,
                                  ms_status *status, ms_diag *d)
{
    ms_recipe *r = parse(text);
    ms_world_model_config cfg = ms_world_model_defaults();
    cfg.calib_batch = 2;
    cfg.calib_seq = 16;
    cfg.threads = threads;
    ms_world_model *wm = NULL;
    ms_diag_clear(d);
    assert_int_equal(ms_world_model_new(new_model(), r, &cfg, &wm, d), MS_OK);
    ms_pipeline_config pc = ms_pipeline_defaults();
    pc.calibration = how;
    pc.layers = 2;
    ms_call *calls = NULL;
    size_t n = 0;
    assert_int_equal(ms_pipeline_generate(&pc, r, &calls, &n, d), MS_OK);
    ms_lifecycle *lc = NULL;
    assert_int_equal(ms_recipe_build_lifecycle(r, &lc, d), MS_OK);
    assert_int_equal(ms_lifecycle_set_world(lc, ms_world_model_world(wm)), MS_OK);
    ms_lifecycle_set_calibration_data(lc, true);
    for (size_t m = 0; m < ms_recipe_count(r); m++)
        ms_world_model_set_calibration(
            wm, m, how == MS_PIPELINE_BASIC ? MS_WORLD_WHOLE : MS_WORLD_LAYERWISE);
    for (size_t i = 0; i < n; i++) {
        ms_raise raised;
        assert_int_equal(ms_call_run(&calls[i], lc, &raised), MS_OK);
    }
    *status = ms_world_model_error(wm, d);
    free(calls);
    ms_lifecycle_free(lc);
    ms_recipe_free(r);
    return wm;
}

static ms_world_model *run(const char *text, ms_pipeline how, size_t threads)
{
    ms_status st;
    ms_diag d;
    ms_diag_clear(&d);
    ms_world_model *wm = run_status(text, how, threads, &st, &d);
    assert_int_equal(st, MS_OK);
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

#define W4G16                                                                                      \
    "    QuantizationModifier:\n"                                                                  \
    "      ignore: [lm_head]\n"                                                                    \
    "      config_groups:\n"                                                                       \
    "        g:\n"                                                                                 \
    "          targets: [Linear]\n"                                                                \
    "          weights: {num_bits: 4, type: int, symmetric: true, strategy: group, "               \
    "group_size: 16}\n"

static bool same_weight(const ms_world_model *a, const ms_world_model *b, const char *name)
{
    float *x, *y;
    size_t nx, ny;
    weight(a, name, &x, &nx);
    weight(b, name, &y, &ny);
    bool same = nx == ny && !memcmp(x, y, nx * sizeof *x);
    free(x);
    free(y);
    return same;
}

/* AWQ smooths each layer at its sequential_epoch_end with Llama's default
 * mappings, before the QuantizationModifier after it quantizes that layer
 * (awq/base.py _apply_smoothing; mappings.py default_mappings). */
static void awq_smooths_before_quantization(void **state)
{
    (void)state;
    static const char awq[] = "s_stage:\n  m_modifiers:\n    AWQModifier: {n_grid: 6}\n" W4G16;
    static const char quant[] = "s_stage:\n  m_modifiers:\n" W4G16;
    ms_world_model *a = run(awq, MS_PIPELINE_SEQUENTIAL, 1);
    ms_world_model *q = run(quant, MS_PIPELINE_SEQUENTIAL, 1);
    /* v_proj (16 outputs: 2 kv heads) cannot smooth o_proj (32 inputs): that
     * mapping is skipped (_check_layers_are_compatible), so o_proj is only
     * quantized */
    assert_true(same_weight(a, q, "model.layers.0.self_attn.o_proj"));
    assert_true(same_weight(a, q, "model.layers.1.self_attn.o_proj"));
    static const char *const moved[] = {
        "model.layers.0.input_layernorm",
        "model.layers.0.self_attn.q_proj",
        "model.layers.0.self_attn.v_proj",
        "model.layers.0.post_attention_layernorm",
        "model.layers.0.mlp.gate_proj",
        "model.layers.0.mlp.down_proj",
        "model.layers.1.post_attention_layernorm",
        "model.layers.1.mlp.up_proj",
    };
    for (size_t i = 0; i < sizeof moved / sizeof moved[0]; i++)
        assert_false(same_weight(a, q, moved[i]));
    ms_world_module_row *rows;
    size_t n;
    ms_diag d;
    assert_int_equal(ms_world_model_rows(a, &rows, &n, &d), MS_OK);
    assert_string_equal(rows[0].name, "model.layers.0.self_attn.q_proj");
    assert_int_equal(rows[0].owner, 1);
    assert_int_equal(rows[0].bits, 4);
    free(rows);
    ms_world_model *two = run(awq, MS_PIPELINE_SEQUENTIAL, 2);
    assert_int_equal(ms_model_weights_hash(ms_world_model_model(a)),
                     ms_model_weights_hash(ms_world_model_model(two)));
    ms_world_model_free(two);
    ms_world_model_free(a);
    ms_world_model_free(q);
}

/* awq/base.py on_start: duo_scaling with a tensor-strategy balance layer is
 * upstream's ValueError */
static void awq_duo_needs_per_channel(void **state)
{
    (void)state;
    ms_status st;
    ms_diag d;
    ms_world_model *wm = run_status("s_stage:\n  m_modifiers:\n    AWQModifier: {}\n"
                                    "    QuantizationModifier: {scheme: FP8, ignore: [lm_head]}\n",
                                    MS_PIPELINE_SEQUENTIAL, 1, &st, &d);
    assert_int_equal(st, MS_ERR_INVALID);
    assert_non_null(strstr(d.message, "found TENSOR strategy on layer "
                                      "model.layers.0.self_attn.q_proj"));
    ms_world_model_free(wm);
    wm = run_status("s_stage:\n  m_modifiers:\n    AWQModifier: {duo_scaling: false}\n"
                    "    QuantizationModifier: {scheme: FP8, ignore: [lm_head]}\n",
                    MS_PIPELINE_SEQUENTIAL, 1, &st, &d);
    assert_int_equal(st, MS_OK);
    ms_world_model_free(wm);
}

/* The per-channel max - min of the input of Linear `module` in the forward
 * over the calibration tokens `run` uses. */
typedef struct range_probe {
    size_t module;
    float *min, *max;
} range_probe;

static ms_status probe(size_t module, const char *name, const float *x, size_t rows, size_t cols,
                       void *user, ms_diag *diag)
{
    (void)name;
    (void)diag;
    range_probe *p = user;
    if (module != p->module)
        return MS_OK;
    for (size_t j = 0; j < cols; j++) {
        p->min[j] = p->max[j] = x[j];
        for (size_t r = 1; r < rows; r++) {
            float v = x[r * cols + j];
            p->min[j] = v < p->min[j] ? v : p->min[j];
            p->max[j] = v > p->max[j] ? v : p->max[j];
        }
    }
    return MS_OK;
}

/* LogarithmicEqualizationModifier divides input_layernorm by
 * s = range / log2(2 + range) (smoothquant/base.py:405-408 at 0.12, the
 * modifier being SmoothQuant with algorithm log_equalization), and
 * SmoothQuantModifier with `algorithm: log_equalization` does the same. */
static void log_equalization_scales(void **state)
{
    (void)state;
    ms_model *m = new_model();
    size_t q;
    assert_true(ms_model_find(m, "model.layers.0.self_attn.q_proj", &q));
    float mn[32], mx[32];
    range_probe p = {q, mn, mx};
    ms_tokens t;
    ms_diag d;
    assert_int_equal(ms_tokens_random(0, 2, 16, 64, &t, &d), MS_OK);
    assert_int_equal(ms_forward_run(m, &t, NULL, probe, &p, NULL, &d), MS_OK);
    ms_tokens_free(&t);
    size_t norm;
    assert_true(ms_model_find(m, "model.layers.0.input_layernorm", &norm));
    float before[32], after[32];
    ms_model_weight_read(m, norm, before);
    ms_world_model *a = run("s_stage:\n  m_modifiers:\n    LogarithmicEqualizationModifier: {}\n",
                            MS_PIPELINE_SEQUENTIAL, 1);
    ms_world_model *b =
        run("s_stage:\n  m_modifiers:\n    SmoothQuantModifier: {algorithm: log_equalization}\n",
            MS_PIPELINE_SEQUENTIAL, 1);
    ms_world_model *c =
        run("s_stage:\n  m_modifiers:\n    SmoothQuantModifier: {}\n", MS_PIPELINE_SEQUENTIAL, 1);
    assert_int_equal(ms_model_weights_hash(ms_world_model_model(a)),
                     ms_model_weights_hash(ms_world_model_model(b)));
    assert_true(ms_model_weights_hash(ms_world_model_model(a)) !=
                ms_model_weights_hash(ms_world_model_model(c)));
    ms_model_weight_read(ms_world_model_model(a), norm, after);
    for (size_t j = 0; j < 32; j++) {
        float r = mx[j] - mn[j];
        double s = (double)(r / log2f(2.0f + r));
        assert_true(fabs((double)after[j] - before[j] / s) <= 1e-6 * fabs(before[j] / s));
    }
    ms_world_model_free(a);
    ms_world_model_free(b);
    ms_world_model_free(c);
    ms_model_free(m);
}

static double zeros_of(const ms_world_model *wm, const char *name)
{
    float *w;
    size_t n, z = 0;
    weight(wm, name, &w, &n);
    for (size_t i = 0; i < n; i++)
        z += w[i] == 0;
    free(w);
    return (double)z / (double)n;
}

/* sgpt_base.py on_start: targets are the layers holding the Linears to
 * prune, and a sparsity list gives one value per target layer */
static void sparsity_list_per_target_layer(void **state)
{
    (void)state;
    ms_world_model *wm = run("s_stage:\n  m_modifiers:\n    SparseGPTModifier:\n"
                             "      sparsity: [0.25, 0.75]\n"
                             "      targets: [LlamaDecoderLayer]\n",
                             MS_PIPELINE_SEQUENTIAL, 1);
    assert_true(fabs(zeros_of(wm, "model.layers.0.mlp.up_proj") - 0.25) < 0.02);
    assert_true(fabs(zeros_of(wm, "model.layers.1.self_attn.k_proj") - 0.75) < 0.02);
    assert_true(zeros_of(wm, "lm_head") == 0); /* in no target layer */
    ms_world_model_free(wm);
}

/* OWL: layer sparsities 1 - (r_k - mean(r) + (1 - sparsity)) with the
 * outlier ratios mapped to [0, 2 * owl_lmbda]: with two layers, one at
 * sparsity + lmbda and one at sparsity - lmbda (sgpt_base.py
 * _infer_owl_layer_sparsity) */
static void owl_layer_sparsities(void **state)
{
    (void)state;
    ms_world_model *wm = run("s_stage:\n  m_modifiers:\n    SparseGPTModifier:\n"
                             "      sparsity: 0.5\n"
                             "      sparsity_profile: owl\n"
                             "      owl_m: 3\n"
                             "      owl_lmbda: 0.2\n"
                             "      targets: [LlamaDecoderLayer]\n",
                             MS_PIPELINE_SEQUENTIAL, 1);
    double a = zeros_of(wm, "model.layers.0.mlp.gate_proj");
    double b = zeros_of(wm, "model.layers.1.mlp.gate_proj");
    assert_true(fabs(a + b - 1.0) < 0.03);
    assert_true(fabs(fabs(a - b) - 0.4) < 0.03);
    ms_world_model_free(wm);
}

/* QuantizationModifier's targets and ignore select by module name, class
 * name and re: (a Python regex matched at the start of the name), as
 * compressed-tensors' match_named_modules */
static void quantization_targets_and_ignore(void **state)
{
    (void)state;
    ms_world_model *wm =
        run("s_stage:\n  m_modifiers:\n    QuantizationModifier:\n"
            "      ignore: [model.layers.0.self_attn.k_proj, 're:.*layers\\.1\\..*v_proj$',"
            " lm_head]\n"
            "      config_groups:\n"
            "        g:\n"
            "          targets: ['re:.*self_attn\\.[qkv]_proj', model.layers.1.mlp.up_proj]\n"
            "          weights: {num_bits: 4, strategy: group, group_size: 16}\n",
            MS_PIPELINE_SEQUENTIAL, 1);
    static const struct {
        const char *name;
        int bits;
    } want[] = {
        {"model.layers.0.self_attn.q_proj", 4},
        {"model.layers.0.self_attn.k_proj", 0},
        {"model.layers.0.self_attn.v_proj", 4},
        {"model.layers.0.self_attn.o_proj", 0},
        {"model.layers.1.self_attn.v_proj", 0},
        {"model.layers.1.self_attn.k_proj", 4},
        {"model.layers.1.mlp.up_proj", 4},
        {"model.layers.0.mlp.up_proj", 0},
        {"lm_head", 0},
    };
    ms_world_module_row *rows;
    size_t n;
    ms_diag d;
    assert_int_equal(ms_world_model_rows(wm, &rows, &n, &d), MS_OK);
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        size_t r = 0;
        while (r < n && strcmp(rows[r].name, want[k].name))
            r++;
        assert_true(r < n);
        if (rows[r].bits != want[k].bits)
            fail_msg("%s: %d bits, expected %d", want[k].name, rows[r].bits, want[k].bits);
    }
    free(rows);
    ms_world_model_free(wm);
    /* by class: Linear, minus lm_head */
    wm = run("s_stage:\n  m_modifiers:\n    QuantizationModifier:\n"
             "      targets: [Linear]\n      ignore: [lm_head]\n"
             "      scheme: {weights: {num_bits: 8, strategy: channel}}\n",
             MS_PIPELINE_SEQUENTIAL, 1);
    assert_int_equal(ms_world_model_rows(wm, &rows, &n, &d), MS_OK);
    for (size_t r = 0; r < n; r++)
        assert_int_equal(rows[r].bits, strcmp(rows[r].name, "lm_head") ? 8 : 0);
    free(rows);
    ms_world_model_free(wm);
}

/* The inputs of three Linears of layer 1 in one forward. */
typedef struct block_probe {
    size_t mods[3];
    float *x[3];
} block_probe;

static ms_status keep3(size_t module, const char *name, const float *x, size_t rows, size_t cols,
                       void *user, ms_diag *diag)
{
    (void)name;
    (void)diag;
    block_probe *p = user;
    for (size_t k = 0; k < 3; k++)
        if (module == p->mods[k]) {
            p->x[k] = malloc(rows * cols * sizeof(float));
            memcpy(p->x[k], x, rows * cols * sizeof(float));
        }
    return MS_OK;
}

/* ms_forward_block, which AWQ's search runs, computes what the layer does:
 * the attention on q_proj's input gives o_proj's input times o_proj, the MLP
 * on gate_proj's input gives down_proj's input times down_proj; a weight put
 * in place of q_proj's changes the attention's output. */
static void forward_block_is_the_layer(void **state)
{
    (void)state;
    ms_model *m = new_model();
    block_probe p = {{0}, {NULL, NULL, NULL}};
    size_t o, gate;
    assert_true(ms_model_find(m, "model.layers.1.self_attn.q_proj", &p.mods[0]));
    assert_true(ms_model_find(m, "model.layers.1.self_attn.o_proj", &p.mods[1]));
    assert_true(ms_model_find(m, "model.layers.1.mlp.down_proj", &p.mods[2]));
    assert_true(ms_model_find(m, "model.layers.1.mlp.gate_proj", &gate));
    ms_tokens t;
    ms_diag d;
    assert_int_equal(ms_tokens_random(3, 2, 8, 64, &t, &d), MS_OK);
    /* q_proj's, o_proj's and down_proj's inputs, then gate_proj's */
    assert_int_equal(ms_forward_run(m, &t, NULL, keep3, &p, NULL, &d), MS_OK);
    float *xq = p.x[0], *attn = p.x[1], *act = p.x[2];
    p = (block_probe){{gate, SIZE_MAX, SIZE_MAX}, {NULL, NULL, NULL}};
    assert_int_equal(ms_forward_run(m, &t, NULL, keep3, &p, NULL, &d), MS_OK);
    float *xg = p.x[0];
    size_t rows = 16, h = 32, inter = 64;
    float out[16 * 32], wo[32 * 32], wd[32 * 64];
    assert_true(ms_model_find(m, "model.layers.1.self_attn.o_proj", &o));
    ms_model_weight_read(m, o, wo);
    assert_true(ms_model_find(m, "model.layers.1.mlp.down_proj", &o));
    ms_model_weight_read(m, o, wd);
    assert_int_equal(ms_forward_block(m, 1, MS_FORWARD_ATTENTION, xq, 2, 8, NULL, NULL, out, &d),
                     MS_OK);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < h; c++) {
            double y = 0;
            for (size_t k = 0; k < h; k++)
                y += (double)attn[r * h + k] * wo[c * h + k];
            assert_true(fabs(out[r * h + c] - y) <= 1e-5 * (1 + fabs(y)));
        }
    assert_int_equal(ms_forward_block(m, 1, MS_FORWARD_MLP, xg, 2, 8, NULL, NULL, out, &d), MS_OK);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < h; c++) {
            double y = 0;
            for (size_t k = 0; k < inter; k++)
                y += (double)act[r * inter + k] * wd[c * inter + k];
            assert_true(fabs(out[r * h + c] - y) <= 1e-5 * (1 + fabs(y)));
        }
    float base[16 * 32];
    assert_int_equal(ms_forward_block(m, 1, MS_FORWARD_ATTENTION, xq, 2, 8, NULL, NULL, base, &d),
                     MS_OK);
    /* o_proj's weight (as wide as q_proj's) in place of q_proj's */
    const float *w[4] = {wo, NULL, NULL, NULL};
    assert_int_equal(ms_forward_block(m, 1, MS_FORWARD_ATTENTION, xq, 2, 8, w, NULL, out, &d),
                     MS_OK);
    assert_true(memcmp(out, base, sizeof out) != 0);
    free(xq);
    free(attn);
    free(act);
    free(xg);
    ms_tokens_free(&t);
    ms_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sequential_calibrates_on_compressed_layers),
        cmocka_unit_test(threads_change_no_bit),
        cmocka_unit_test(magnitude_reaches_its_sparsity),
        cmocka_unit_test(unknown_scheme_is_refused_at_its_line),
        cmocka_unit_test(awq_smooths_before_quantization),
        cmocka_unit_test(awq_duo_needs_per_channel),
        cmocka_unit_test(log_equalization_scales),
        cmocka_unit_test(sparsity_list_per_target_layer),
        cmocka_unit_test(owl_layer_sparsities),
        cmocka_unit_test(quantization_targets_and_ignore),
        cmocka_unit_test(forward_block_is_the_layer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
