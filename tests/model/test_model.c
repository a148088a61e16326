/* Model specs, synthetic weights, module layout and target matching. */
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

#include "kernels/pool.h"
#include "model/forward.h"
#include "model/model.h"
#include "model/safetensors.h"

static const char tiny_spec[] = "hidden_size: 64\n"
                                "intermediate_size: 96\n"
                                "num_layers: 2\n"
                                "num_heads: 4\n"
                                "num_kv_heads: 2\n"
                                "vocab_size: 300\n"
                                "rope_theta: 10000.0\n"
                                "rms_norm_eps: 1.0e-5\n"
                                "seed: 7\n"
                                "outliers: {count: 3, scale: 20.0}\n";

static ms_model *make_model(const char *text)
{
    ms_model_spec spec;
    ms_diag diag;
    ms_model *m = NULL;
    assert_int_equal(ms_model_spec_parse(text, strlen(text), "t.yaml", &spec, &diag), MS_OK);
    assert_int_equal(ms_model_new(&spec, &m, &diag), MS_OK);
    return m;
}

static ms_status parse(const char *text, ms_diag *diag)
{
    ms_model_spec spec;
    return ms_model_spec_parse(text, strlen(text), "spec.yaml", &spec, diag);
}

/* Replaces the line starting with `key` in tiny_spec by `line`. */
static char *spec_with(const char *key, const char *line)
{
    static char out[1024];
    out[0] = 0;
    const char *p = tiny_spec;
    while (*p) {
        const char *nl = strchr(p, '\n');
        if (!strncmp(p, key, strlen(key)))
            strcat(out, line);
        else
            strncat(out, p, (size_t)(nl - p + 1));
        p = nl + 1;
    }
    return out;
}

static void model_spec_bad_value_points_at_its_line(void **state)
{
    (void)state;
    ms_diag d;
    assert_int_equal(parse(spec_with("num_layers", "num_layers: four\n"), &d), MS_ERR_INVALID);
    assert_string_equal(d.file, "spec.yaml");
    assert_int_equal(d.line, 3);
    assert_int_equal(d.col, 13);
    assert_non_null(strstr(d.message, "'num_layers'"));
    assert_non_null(strstr(d.message, "four"));

    assert_int_equal(parse(spec_with("rms_norm_eps", "rms_norm_eps: -1.0\n"), &d), MS_ERR_INVALID);
    assert_int_equal(d.line, 8);
    assert_int_equal(parse(spec_with("outliers", "outliers: {count: 99, scale: 2.0}\n"), &d),
                     MS_ERR_INVALID);
    assert_int_equal(d.line, 10);
    assert_int_equal(d.col, 19);
    assert_int_equal(parse(spec_with("hidden_size", "hidden_size: 0\n"), &d), MS_ERR_INVALID);
    assert_non_null(strstr(d.message, "outside"));
}

static void model_spec_unknown_key_suggests_the_right_one(void **state)
{
    (void)state;
    ms_diag d;
    assert_int_equal(parse(spec_with("num_layers", "num_hidden_layers: 2\n"), &d), MS_ERR_INVALID);
    assert_int_equal(d.line, 3);
    assert_int_equal(d.col, 1);
    assert_non_null(strstr(d.hint, "num_layers"));
    assert_int_equal(parse(spec_with("hidden_size", "hiden_size: 64\n"), &d), MS_ERR_INVALID);
    assert_non_null(strstr(d.hint, "did you mean 'hidden_size'"));
}

static void model_spec_missing_key_and_shape_errors(void **state)
{
    (void)state;
    ms_diag d;
    assert_int_equal(parse(spec_with("seed", ""), &d), MS_ERR_INVALID);
    assert_non_null(strstr(d.message, "no 'seed'"));
    assert_int_equal(parse(spec_with("num_kv_heads", "num_kv_heads: 3\n"), &d), MS_ERR_INVALID);
    assert_int_equal(d.line, 5);
    assert_non_null(strstr(d.message, "does not divide"));
    assert_int_equal(parse(spec_with("num_heads", "num_heads: 3\n"), &d), MS_ERR_INVALID);
    assert_int_equal(d.line, 4);
    assert_int_equal(parse("[1, 2]", &d), MS_ERR_INVALID);
    assert_int_equal(parse("hidden_size: [", &d), MS_ERR_SYNTAX);
    assert_int_equal(parse(spec_with("hidden_size", "hidden_size: 1048576\n"), &d), MS_ERR_LIMIT);
}

static void model_same_seed_gives_identical_weights(void **state)
{
    (void)state;
    ms_model *a = make_model(tiny_spec), *b = make_model(tiny_spec);
    assert_int_equal(ms_model_param_count(a), ms_model_param_count(b));
    assert_true(ms_model_weights_hash(a) == ms_model_weights_hash(b));
    for (size_t i = 0; i < ms_model_module_count(a); i++) {
        const ms_module *ma = ms_model_module(a, i), *mb = ms_model_module(b, i);
        if (ma->weight)
            assert_memory_equal(ma->weight, mb->weight,
                                ma->shape[0] * (ma->ndim == 2 ? ma->shape[1] : 1) * 4);
    }
    ms_model_free(a);
    ms_model_free(b);
}

/* The generator uses integer arithmetic and one correctly rounded scaling:
 * this hash is the same on every machine (check_model.py recomputes the
 * first values of every tensor independently). */
static void model_weights_match_the_recorded_hash(void **state)
{
    (void)state;
    ms_model *m = make_model(tiny_spec);
    assert_true(ms_model_weights_hash(m) == UINT64_C(0x4357f7206d1516a3));
    ms_model_free(m);
}

static void model_open_takes_bundled_names_and_spec_files(void **state)
{
    (void)state;
    ms_diag d;
    ms_model *m = NULL;
    assert_int_equal(ms_model_open("tiny", &m, &d), MS_OK);
    assert_int_equal(ms_model_get_spec(m)->hidden_size, 256);
    assert_int_equal(ms_model_get_spec(m)->num_layers, 4);
    ms_model_free(m);

    char path[] = "/tmp/modsim-open-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, tiny_spec, strlen(tiny_spec)), (ssize_t)strlen(tiny_spec));
    close(fd);
    assert_int_equal(ms_model_open(path, &m, &d), MS_OK);
    ms_model *want = make_model(tiny_spec);
    assert_true(ms_model_weights_hash(m) == ms_model_weights_hash(want));
    ms_model_free(want);
    ms_model_free(m);
    unlink(path);

    assert_int_equal(ms_model_open("tinny", &m, &d), MS_ERR_IO);
    assert_non_null(strstr(d.message, "'tinny'"));
    assert_non_null(strstr(d.hint, "tiny, small"));
}

static void model_different_seed_gives_different_weights(void **state)
{
    (void)state;
    ms_model *a = make_model(tiny_spec), *b = make_model(spec_with("seed", "seed: 8\n"));
    assert_true(ms_model_weights_hash(a) != ms_model_weights_hash(b));
    size_t q;
    assert_true(ms_model_find(a, "model.layers.0.self_attn.q_proj", &q));
    float *qa = malloc(64 * 64 * sizeof *qa), *qb = malloc(64 * 64 * sizeof *qb);
    assert_non_null(qa);
    assert_non_null(qb);
    assert_int_equal(ms_module_numel(ms_model_module(a, q)), 64 * 64);
    ms_model_weight_read(a, q, qa);
    ms_model_weight_read(b, q, qb);
    size_t same = 0;
    for (size_t i = 0; i < 64 * 64; i++)
        same += qa[i] == qb[i];
    free(qa);
    free(qb);
    assert_true(same < 64);
    ms_model_free(a);
    ms_model_free(b);
}

static void model_modules_are_named_as_hugging_face(void **state)
{
    (void)state;
    ms_model *m = make_model(tiny_spec);
    static const char *const expect[][2] = {
        {"", "LlamaForCausalLM"},
        {"model", "LlamaModel"},
        {"model.embed_tokens", "Embedding"},
        {"model.layers", "ModuleList"},
        {"model.layers.0", "LlamaDecoderLayer"},
        {"model.layers.0.self_attn", "LlamaAttention"},
        {"model.layers.0.self_attn.q_proj", "Linear"},
        {"model.layers.0.self_attn.k_proj", "Linear"},
        {"model.layers.0.self_attn.v_proj", "Linear"},
        {"model.layers.0.self_attn.o_proj", "Linear"},
        {"model.layers.0.mlp", "LlamaMLP"},
        {"model.layers.0.mlp.gate_proj", "Linear"},
        {"model.layers.0.mlp.up_proj", "Linear"},
        {"model.layers.0.mlp.down_proj", "Linear"},
        {"model.layers.0.mlp.act_fn", "SiLU"},
        {"model.layers.0.input_layernorm", "LlamaRMSNorm"},
        {"model.layers.0.post_attention_layernorm", "LlamaRMSNorm"},
        {"model.layers.1", "LlamaDecoderLayer"},
    };
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        assert_string_equal(ms_model_module(m, i)->name, expect[i][0]);
        assert_string_equal(ms_model_module(m, i)->class_name, expect[i][1]);
    }
    size_t n = ms_model_module_count(m);
    assert_int_equal(n, 4 + 2 * 13 + 3);
    assert_string_equal(ms_model_module(m, n - 3)->name, "model.norm");
    assert_string_equal(ms_model_module(m, n - 2)->name, "model.rotary_emb");
    assert_string_equal(ms_model_module(m, n - 1)->name, "lm_head");

    size_t i;
    assert_true(ms_model_find(m, "model.layers.1.self_attn.k_proj", &i));
    const ms_module *k = ms_model_module(m, i);
    assert_int_equal(k->ndim, 2);
    assert_int_equal(k->shape[0], 32); /* 2 kv heads of 16 */
    assert_int_equal(k->shape[1], 64);
    assert_int_equal(k->layer, 1);
    assert_true(ms_model_find(m, "model.layers.1.mlp.down_proj", &i));
    assert_int_equal(ms_model_module(m, i)->shape[0], 64);
    assert_int_equal(ms_model_module(m, i)->shape[1], 96);
    assert_true(ms_model_find(m, "model.norm", &i));
    assert_int_equal(ms_model_module(m, i)->ndim, 1);
    assert_true(ms_model_find(m, "model.layers.0", &i));
    assert_null(ms_model_module(m, i)->weight);
    assert_true(ms_module_is_a(ms_model_module(m, i), "Module"));
    assert_false(ms_model_find(m, "model.layers.2", &i));
    assert_int_equal(ms_model_param_count(m),
                     2 * 300 * 64 + 64 + 2 * (64 * 64 * 2 + 2 * 32 * 64 + 3 * 64 * 96 + 2 * 64));
    ms_model_free(m);
}

static void model_weights_are_realistic_with_outlier_channels(void **state)
{
    (void)state;
    ms_model *m = make_model(tiny_spec);
    size_t i;
    assert_true(ms_model_find(m, "model.layers.0.mlp.down_proj", &i));
    size_t n = 64 * 96;
    assert_int_equal(ms_module_numel(ms_model_module(m, i)), n);
    float *down = malloc(n * sizeof *down);
    assert_non_null(down);
    ms_model_weight_read(m, i, down);
    double sum = 0, sq = 0;
    for (size_t j = 0; j < n; j++)
        sum += down[j], sq += (double)down[j] * down[j];
    free(down);
    double mean = sum / (double)n, std = sqrt(sq / (double)n - mean * mean);
    assert_true(fabs(mean) < 0.01);
    assert_true(fabs(std * sqrt(96.0) - 1.0) < 0.05); /* 1/sqrt(in_features) */

    /* The same outlier channels in every decoder layer's norms, none in the
     * final norm. */
    size_t a, b, f;
    assert_true(ms_model_find(m, "model.layers.0.input_layernorm", &a));
    assert_true(ms_model_find(m, "model.layers.1.post_attention_layernorm", &b));
    assert_true(ms_model_find(m, "model.norm", &f));
    float wa[64], wb[64], wf[64];
    ms_model_weight_read(m, a, wa);
    ms_model_weight_read(m, b, wb);
    ms_model_weight_read(m, f, wf);
    size_t outliers = 0, final_outliers = 0;
    for (size_t c = 0; c < 64; c++) {
        bool big = wa[c] == 20.0f;
        outliers += big;
        assert_true(big == (wb[c] == 20.0f));
        if (!big)
            assert_true(fabsf(wa[c] - 1.0f) < 0.5f);
        final_outliers += wf[c] > 5.0f;
    }
    assert_int_equal(outliers, 3);
    assert_int_equal(final_outliers, 0);
    ms_model_free(m);
}

static size_t count_matches(const ms_model *m, const char *const *t, size_t nt,
                            const char *const *ig, size_t ni, ms_diag *d)
{
    ms_match match;
    assert_int_equal(ms_model_match(m, t, nt, ig, ni, &match, d), MS_OK);
    size_t n = match.count;
    ms_match_free(&match);
    return n;
}

#define MATCH(m, d, targets, ignore)                                                               \
    count_matches(m, targets, sizeof targets / sizeof targets[0], ignore,                          \
                  sizeof ignore / sizeof ignore[0], d)

static void model_match_targets_by_name_class_and_regex(void **state)
{
    (void)state;
    ms_model *m = make_model(tiny_spec);
    ms_diag d;
    const char *none[] = {NULL};
    const char *linear[] = {"Linear"}, *lm_head[] = {"lm_head"};
    ms_match match;
    assert_int_equal(ms_model_match(m, linear, 1, lm_head, 1, &match, &d), MS_OK);
    assert_int_equal(match.count, 14);
    assert_int_equal(match.target_hits[0], 15);
    assert_string_equal(d.code, "");
    for (size_t i = 1; i < match.count; i++)
        assert_true(match.modules[i - 1] < match.modules[i]); /* module order */
    assert_string_equal(ms_model_module(m, match.modules[0])->name,
                        "model.layers.0.self_attn.q_proj");
    ms_match_free(&match);

    const char *exact[] = {"model.layers.1.mlp.up_proj"};
    assert_int_equal(count_matches(m, exact, 1, none, 0, &d), 1);
    const char *decoder[] = {"LlamaDecoderLayer"}, *norms[] = {"LlamaRMSNorm"};
    assert_int_equal(count_matches(m, decoder, 1, none, 0, &d), 2);
    assert_int_equal(count_matches(m, norms, 1, none, 0, &d), 5);
    const char *module[] = {"Module"};
    assert_int_equal(count_matches(m, module, 1, none, 0, &d), ms_model_module_count(m));
    const char *layers_re[] = {"re:model.layers.\\d+$"};
    assert_int_equal(count_matches(m, layers_re, 1, none, 0, &d), 2);
    const char *q_re[] = {"re:.*q_proj"}, *qk_re[] = {"re:.*self_attn\\.(q|k)_proj$"};
    assert_int_equal(count_matches(m, q_re, 1, none, 0, &d), 2);
    assert_int_equal(count_matches(m, qk_re, 1, none, 0, &d), 4);
    const char *mlp[] = {"re:.*mlp\\.(?:gate|up)_proj$", "re:.*layers\\.[0]\\.self_attn\\.o_proj"};
    assert_int_equal(count_matches(m, mlp, 2, none, 0, &d), 5);
    const char *ig_re[] = {"re:.*down_proj", "lm_head", "re:model\\.layers\\.1\\."};
    assert_int_equal(MATCH(m, &d, linear, ig_re), 6);
    const char *ig_class[] = {"Linear"};
    assert_int_equal(count_matches(m, q_re, 1, ig_class, 1, &d), 0);
    /* Python's re.match: lazy quantifiers, classes, counted repeats. */
    const char *py[] = {"re:.*?layers\\.\\d{1}\\.mlp\\.[a-z_]+proj$"};
    assert_int_equal(count_matches(m, py, 1, none, 0, &d), 6);
    ms_model_free(m);
}

static void model_match_is_anchored_at_the_start_only(void **state)
{
    (void)state;
    ms_model *m = make_model(tiny_spec);
    ms_diag d;
    const char *none[] = {NULL};
    const char *q[] = {"re:q_proj"}; /* re.match: not a search */
    assert_int_equal(count_matches(m, q, 1, none, 0, &d), 0);
    assert_string_equal(d.code, "W-TARGET-UNMATCHED");
    assert_int_equal(d.severity, MS_SEV_WARNING);
    const char *prefix[] = {"re:model.layers.0.mlp"}; /* no end anchor: children match */
    assert_int_equal(count_matches(m, prefix, 1, none, 0, &d), 5);
    const char *alt[] = {"re:lm_head|model.norm"};
    assert_int_equal(count_matches(m, alt, 1, none, 0, &d), 2);
    ms_model_free(m);
}

static void model_match_parameter_targets_select_nothing_with_a_warning(void **state)
{
    (void)state;
    ms_model *m = make_model(tiny_spec);
    ms_diag d;
    const char *none[] = {NULL};
    const char *param[] = {"Linear", "re:.*self_attn.q_proj.weight"};
    ms_match match;
    assert_int_equal(ms_model_match(m, param, 2, none, 0, &match, &d), MS_OK);
    assert_int_equal(match.count, 15);
    assert_int_equal(match.target_hits[1], 0);
    assert_string_equal(d.code, "W-TARGET-UNMATCHED");
    assert_non_null(strstr(d.message, "model.layers.0.self_attn.q_proj.weight"));
    assert_non_null(strstr(d.hint, ".weight"));
    ms_match_free(&match);
    ms_model_free(m);
}

static void model_match_rejects_regex_it_cannot_honour(void **state)
{
    (void)state;
    ms_model *m = make_model(tiny_spec);
    ms_diag d;
    const char *bad[][1] = {{"re:(?=model)"}, {"re:model["}, {"re:\\bq"}, {"re:(a)\\1"},
                            {"re:*a"},        {"re:a++"},    {"re:[\\D]"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ms_match match;
        assert_int_equal(ms_model_match(m, bad[i], 1, NULL, 0, &match, &d), MS_ERR_INVALID);
        assert_non_null(strstr(d.message, bad[i][0]));
        assert_null(match.modules);
    }
    const char *literals[] = {"re:a{b", "re:x]", "re:a\\^b", "re:\\(\\[\\}\\$\\\\"};
    assert_int_equal(count_matches(m, literals, 4, NULL, 0, &d), 0); /* literals in Python too */
    const char *escaped[] = {"re:model\\.layers\\.0\\.mlp\\.up_proj$", "re:lm[_]head"};
    assert_int_equal(count_matches(m, escaped, 2, NULL, 0, &d), 2);
    const char *dot[] = {"re:model\\.layers\\.0\\.mlp\\.up.proj$"};
    assert_int_equal(count_matches(m, dot, 1, NULL, 0, &d), 1);
    ms_model_free(m);
}

static char tmp_dir[64];

static const char *tmp_file(const char *name)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    return path;
}

static void model_weights_round_trip_through_safetensors(void **state)
{
    (void)state;
    ms_model *a = make_model(tiny_spec), *b = make_model(spec_with("seed", "seed: 9\n"));
    ms_diag d;
    char path[128];
    snprintf(path, sizeof path, "%s", tmp_file("w.safetensors"));
    assert_int_equal(ms_model_save_weights(a, path, &d), MS_OK);
    size_t loaded = 0;
    assert_int_equal(ms_model_load_weights(b, path, &loaded, &d), MS_OK);
    assert_int_equal(loaded, 2 * 9 + 3);
    assert_true(ms_model_weights_hash(a) == ms_model_weights_hash(b));

    ms_model *c = make_model(spec_with("intermediate_size", "intermediate_size: 128\n"));
    assert_int_equal(ms_model_load_weights(c, path, NULL, &d), MS_ERR_INVALID);
    assert_non_null(strstr(d.message, "model.layers.0.mlp.gate_proj.weight"));
    assert_non_null(strstr(d.message, "[128, 64]"));
    assert_int_equal(ms_model_load_weights(c, tmp_file("missing"), NULL, &d), MS_ERR_IO);
    unlink(path);
    ms_model_free(a);
    ms_model_free(b);
    ms_model_free(c);
}

/* A checkpoint of `dtype` (the norms F32, as some checkpoints keep them)
 * built from the tiny model's weights rounded to it, and the F32 model
 * holding exactly those values. */
static ms_model *write_checkpoint(const char *dir, ms_st_dtype dtype, ms_model **as_f32)
{
    ms_model *a = make_model(tiny_spec);
    ms_diag d;
    char path[160];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": 64, "
          "\"intermediate_size\": 96, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
          "\"num_key_value_heads\": 2, \"vocab_size\": 300, \"rope_theta\": 10000.0, "
          "\"rms_norm_eps\": 1e-05, \"hidden_act\": \"silu\", \"tie_word_embeddings\": false}",
          f);
    assert_int_equal(fclose(f), 0);
    ms_st_writer *w;
    assert_int_equal(ms_st_writer_new(&w), MS_OK);
    size_t n = ms_model_module_count(a);
    uint16_t **bits = calloc(n, sizeof *bits);
    float *buf = malloc(300 * 64 * sizeof *buf);
    assert_non_null(bits);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++) {
        const ms_module *mod = ms_model_module(a, i);
        if (!mod->weight)
            continue;
        size_t numel = ms_module_numel(mod);
        ms_model_weight_read(a, i, buf);
        char name[96];
        snprintf(name, sizeof name, "%s.weight", mod->name);
        if (mod->kind == MS_MOD_RMSNORM) {
            assert_int_equal(
                ms_st_writer_add(w, name, MS_ST_F32, mod->shape, mod->ndim, mod->weight, &d),
                MS_OK);
            continue;
        }
        bits[i] = malloc(numel * sizeof **bits);
        assert_non_null(bits[i]);
        for (size_t j = 0; j < numel; j++) {
            bits[i][j] = dtype == MS_ST_BF16 ? ms_float_to_bf16(buf[j]) : ms_float_to_f16(buf[j]);
            buf[j] =
                dtype == MS_ST_BF16 ? ms_bf16_to_float(bits[i][j]) : ms_f16_to_float(bits[i][j]);
        }
        ms_model_weight_write(a, i, buf);
        assert_int_equal(ms_st_writer_add(w, name, dtype, mod->shape, mod->ndim, bits[i], &d),
                         MS_OK);
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    assert_int_equal(ms_st_write(w, path, &d), MS_OK);
    ms_st_writer_free(w);
    for (size_t i = 0; i < n; i++)
        free(bits[i]);
    free(bits);
    free(buf);
    ms_model *m;
    assert_int_equal(ms_model_open(dir, &m, &d), MS_OK);
    *as_f32 = a;
    return m;
}

static float *logits_of(const ms_model *m, size_t threads)
{
    ms_tokens t;
    ms_diag d;
    ms_pool *pool;
    assert_int_equal(ms_pool_create(threads, &pool, &d), MS_OK);
    assert_int_equal(ms_tokens_random(3, 2, 24, 300, &t, &d), MS_OK);
    float *logits = malloc(2 * 24 * 300 * sizeof *logits);
    assert_non_null(logits);
    assert_int_equal(ms_forward_run(m, &t, pool, NULL, NULL, logits, &d), MS_OK);
    ms_tokens_free(&t);
    ms_pool_free(pool);
    return logits;
}

/* Values whose rounding is decided by nearest-even, with what torch's
 * .to(dtype) gives them. */
typedef struct rounding {
    float in, out;
} rounding;

static void check_checkpoint(ms_st_dtype dtype, const rounding *cases, size_t ncases)
{
    char dir[96];
    snprintf(dir, sizeof dir, "%s/ckpt-XXXXXX", tmp_dir);
    assert_non_null(mkdtemp(dir));
    ms_model *f32, *m = write_checkpoint(dir, dtype, &f32);
    ms_diag d;
    size_t q, norm;
    assert_true(ms_model_find(m, "model.layers.0.self_attn.q_proj", &q));
    assert_true(ms_model_find(m, "model.layers.0.input_layernorm", &norm));
    assert_string_equal(ms_model_weight_dtype(m, q), ms_st_dtype_name(dtype));
    assert_string_equal(ms_model_weight_dtype(m, norm), "F32");
    assert_int_equal(ms_model_weight_bytes(m, q), 64 * 64 * 2);
    assert_int_equal(ms_model_weight_bytes(m, norm), 64 * 4);
    assert_int_equal(ms_model_param_count(m), ms_model_param_count(f32));

    /* reads give the file's values exactly, as the F32 model holds them */
    float *w = malloc(300 * 64 * sizeof *w), *want = malloc(300 * 64 * sizeof *want);
    assert_non_null(w);
    assert_non_null(want);
    for (size_t i = 0; i < ms_model_module_count(m); i++)
        if (ms_model_module(m, i)->weight) {
            ms_model_weight_read(m, i, w);
            ms_model_weight_read(f32, i, want);
            assert_memory_equal(w, want, ms_module_numel(ms_model_module(m, i)) * sizeof *w);
        }

    /* the forward pass computes in f32 what the F32 model computes, on any
     * number of threads */
    float *a = logits_of(m, 1), *b = logits_of(f32, 1), *c = logits_of(m, 2);
    assert_memory_equal(a, b, 2 * 24 * 300 * sizeof *a);
    assert_memory_equal(a, c, 2 * 24 * 300 * sizeof *a);
    free(a);
    free(b);
    free(c);

    /* saved as stored, and loaded back bit for bit */
    char path[160];
    snprintf(path, sizeof path, "%s/saved.safetensors", dir);
    uint64_t before = ms_model_weights_hash(m);
    assert_int_equal(ms_model_save_weights(m, path, &d), MS_OK);
    ms_st_file *file;
    assert_int_equal(ms_st_open(path, &file, &d), MS_OK);
    const ms_st_tensor *t = ms_st_find(file, "model.layers.0.self_attn.q_proj.weight");
    assert_non_null(t);
    assert_int_equal(t->dtype, dtype);
    assert_int_equal(ms_st_find(file, "model.norm.weight")->dtype, MS_ST_F32);
    ms_st_close(file);
    ms_model_weight_write(m, q, want); /* something else, then the file again */
    assert_int_equal(ms_model_load_weights(m, path, NULL, &d), MS_OK);
    assert_true(ms_model_weights_hash(m) == before);
    unlink(path);

    /* writes round to the storage dtype, nearest and ties to even */
    ms_model_weight_read(m, q, w);
    for (size_t i = 0; i < ncases; i++)
        w[i] = cases[i].in;
    ms_model_weight_write(m, q, w);
    ms_model_weight_read(m, q, w);
    for (size_t i = 0; i < ncases; i++) {
        if (isnan(cases[i].out))
            assert_true(isnan(w[i]));
        else
            assert_memory_equal(&w[i], &cases[i].out, sizeof w[i]);
    }

    /* a clone holds the same bits in the same dtypes */
    ms_model *copy;
    assert_int_equal(ms_model_clone(m, &copy, &d), MS_OK);
    assert_true(ms_model_weights_hash(copy) == ms_model_weights_hash(m));
    assert_string_equal(ms_model_weight_dtype(copy, q), ms_st_dtype_name(dtype));
    ms_model_free(copy);

    free(w);
    free(want);
    ms_model_free(m);
    ms_model_free(f32);
    const char *files[] = {"config.json", "model.safetensors"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void model_bf16_checkpoint_is_stored_in_bf16(void **state)
{
    (void)state;
    const rounding cases[] = {
        {1.0f + 0x1p-8f, 1.0f},                      /* tie, to the even 1.0 */
        {1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-6f},        /* tie, up to even */
        {1.0f + 0x1p-8f + 0x1p-20f, 1.0f + 0x1p-7f}, /* past the tie */
        {-(1.0f + 0x1p-8f + 0x1p-20f), -(1.0f + 0x1p-7f)},
        {0x1.fffffep127f, INFINITY}, /* rounds past the largest */
        {0x1p-130f, 0x1p-130f},      /* f32 subnormals are BF16's */
        {NAN, NAN},
    };
    check_checkpoint(MS_ST_BF16, cases, sizeof cases / sizeof cases[0]);
}

static void model_f16_checkpoint_is_stored_in_f16(void **state)
{
    (void)state;
    const rounding cases[] = {
        {1.0f + 0x1p-11f, 1.0f},               /* tie, to the even 1.0 */
        {1.0f + 3 * 0x1p-11f, 1.0f + 0x1p-9f}, /* tie, up to even */
        {65519.0f, 65504.0f},                  /* below the tie: the largest half */
        {65520.0f, INFINITY},                  /* the tie: to even, infinity */
        {-1e6f, -INFINITY},
        {0x1p-25f, 0.0f},             /* half the smallest subnormal: to even 0 */
        {0x1.8p-25f, 0x1p-24f},       /* past it: the smallest subnormal */
        {3 * 0x1p-25f, 2 * 0x1p-24f}, /* subnormal tie, to even */
        {0x1.ffcp-15f, 0x1p-14f},     /* the largest subnormal rounds up to normal */
        {NAN, NAN},
    };
    check_checkpoint(MS_ST_F16, cases, sizeof cases / sizeof cases[0]);
}

static int make_tmp(void **state)
{
    (void)state;
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/modsim-model-XXXXXX");
    return mkdtemp(tmp_dir) ? 0 : -1;
}

static int remove_tmp(void **state)
{
    (void)state;
    return rmdir(tmp_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_spec_bad_value_points_at_its_line),
        cmocka_unit_test(model_spec_unknown_key_suggests_the_right_one),
        cmocka_unit_test(model_spec_missing_key_and_shape_errors),
        cmocka_unit_test(model_same_seed_gives_identical_weights),
        cmocka_unit_test(model_weights_match_the_recorded_hash),
        cmocka_unit_test(model_open_takes_bundled_names_and_spec_files),
        cmocka_unit_test(model_different_seed_gives_different_weights),
        cmocka_unit_test(model_modules_are_named_as_hugging_face),
        cmocka_unit_test(model_weights_are_realistic_with_outlier_channels),
        cmocka_unit_test(model_match_targets_by_name_class_and_regex),
        cmocka_unit_test(model_match_is_anchored_at_the_start_only),
        cmocka_unit_test(model_match_parameter_targets_select_nothing_with_a_warning),
        cmocka_unit_test(model_match_rejects_regex_it_cannot_honour),
        cmocka_unit_test(model_weights_round_trip_through_safetensors),
        cmocka_unit_test(model_bf16_checkpoint_is_stored_in_bf16),
        cmocka_unit_test(model_f16_checkpoint_is_stored_in_f16),
    };
    return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}
