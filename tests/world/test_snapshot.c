/* Going back in a model-backed run: after a restore the checksum of all
 * weights is the one recorded when that position was first reached, and
 * running forward again gives every later position's checksum bit for bit
 * (the world's counters, such as which layer the next sequential_epoch_end
 * compresses, come back too). Output errors are 0 before any change.
 * ConstantPruning's masks and GPTQ's scales come back with the position
 * they were made at. */
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

#include "core/lifecycle.h"
#include "model/model.h"
#include "model/safetensors.h"
#include "recipe/recipe.h"
#include "scenario/scenario.h"
#include "sim/pipeline.h"
#include "world/inspect.h"
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

/* Smoothing, then SparseGPT and GPTQ, layer by layer: every world op that
 * keeps state across calls. */
static const char recipe_text[] = "s_stage:\n"
                                  "  m_modifiers:\n"
                                  "    SmoothQuantModifier:\n"
                                  "      smoothing_strength: 0.8\n"
                                  "    SparseGPTModifier:\n"
                                  "      sparsity: 0.5\n"
                                  "      targets: [Linear]\n"
                                  "      ignore: [lm_head]\n"
                                  "    GPTQModifier:\n"
                                  "      scheme: W4A16\n"
                                  "      targets: [Linear]\n"
                                  "      ignore: [lm_head]\n"
                                  "      block_size: 16\n";

typedef struct fixture {
    ms_recipe *r;
    ms_world_model *wm;
    ms_lifecycle *lc;
    ms_call *calls;
    size_t n;
    size_t lc_size;
    unsigned char *lc_states; /* per position */
    ms_sink sink;
    size_t changed; /* modules the world reported changed in the call */
    size_t unchanged_calls;
} fixture;

static void count_change(void *user, const ms_record *rec)
{
    if (rec->kind == MS_REC_METRIC)
        ((fixture *)user)->changed++;
}

/* The spec's model as a BF16 Hugging Face checkpoint, opened: its weights
 * are stored in BF16. */
static ms_model *bf16_model(ms_model *f32)
{
    char dir[] = "/tmp/modsim-snap-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": 32, "
          "\"intermediate_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
          "\"num_key_value_heads\": 2, \"vocab_size\": 64, \"rms_norm_eps\": 1e-05}",
          f);
    assert_int_equal(fclose(f), 0);
    ms_st_writer *w;
    ms_diag d;
    assert_int_equal(ms_st_writer_new(&w), MS_OK);
    size_t n = ms_model_module_count(f32);
    uint16_t **bits = calloc(n, sizeof *bits);
    float *buf = malloc(64 * 64 * sizeof *buf);
    assert_non_null(bits);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++) {
        const ms_module *mod = ms_model_module(f32, i);
        if (!mod->weight)
            continue;
        size_t numel = ms_module_numel(mod);
        ms_model_weight_read(f32, i, buf);
        bits[i] = malloc(numel * sizeof **bits);
        assert_non_null(bits[i]);
        for (size_t j = 0; j < numel; j++)
            bits[i][j] = ms_float_to_bf16(buf[j]);
        char name[96];
        snprintf(name, sizeof name, "%s.weight", mod->name);
        assert_int_equal(ms_st_writer_add(w, name, MS_ST_BF16, mod->shape, mod->ndim, bits[i], &d),
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
    unlink(path);
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    rmdir(dir);
    ms_model_free(f32);
    return m;
}

static void setup_run_of(fixture *f, bool bf16)
{
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(
        ms_recipe_parse(recipe_text, strlen(recipe_text), "r.yaml", 0, 0, NULL, &f->r, &d), MS_OK);
    ms_model_spec spec;
    ms_model *model = NULL;
    assert_int_equal(ms_model_spec_parse(spec_text, strlen(spec_text), "spec.yaml", &spec, &d),
                     MS_OK);
    assert_int_equal(ms_model_new(&spec, &model, &d), MS_OK);
    if (bf16)
        model = bf16_model(model);
    ms_world_model_config cfg = ms_world_model_defaults();
    cfg.calib_batch = 2;
    cfg.calib_seq = 16;
    assert_int_equal(ms_world_model_new(model, f->r, &cfg, &f->wm, &d), MS_OK);
    ms_pipeline_config pc = ms_pipeline_defaults();
    pc.calibration = MS_PIPELINE_SEQUENTIAL;
    pc.layers = 2;
    assert_int_equal(ms_pipeline_generate(&pc, f->r, &f->calls, &f->n, &d), MS_OK);
    assert_int_equal(ms_recipe_build_lifecycle(f->r, &f->lc, &d), MS_OK);
    assert_int_equal(ms_lifecycle_set_world(f->lc, ms_world_model_world(f->wm)), MS_OK);
    ms_lifecycle_set_calibration_data(f->lc, true);
    f->sink = (ms_sink){.emit = count_change, .user = f};
    ms_world_model_set_sink(f->wm, &f->sink);
    f->lc_size = ms_lifecycle_snapshot_size(f->lc);
    f->lc_states = malloc((f->n + 1) * f->lc_size);
    assert_non_null(f->lc_states);
}

static void setup_run(fixture *f)
{
    setup_run_of(f, false);
}

static void teardown_run(fixture *f)
{
    free(f->lc_states);
    free(f->calls);
    ms_lifecycle_free(f->lc);
    ms_world_model_free(f->wm);
    ms_recipe_free(f->r);
}

/* Runs call `i` and records position i + 1. */
static void step(fixture *f, ms_world_snapshots *s, size_t i)
{
    ms_raise raised;
    ms_diag d;
    ms_diag_clear(&d);
    f->changed = 0;
    uint64_t before = ms_world_model_checksum(f->wm);
    assert_int_equal(ms_call_run(&f->calls[i], f->lc, &raised), MS_OK);
    assert_int_equal(ms_world_model_error(f->wm, &d), MS_OK);
    /* a call the world reports no change for changed no weight */
    if (!f->changed) {
        assert_true(ms_world_model_checksum(f->wm) == before);
        f->unchanged_calls++;
    }
    assert_int_equal(f->changed ? ms_world_snapshots_push(s, &d)
                                : ms_world_snapshots_push_unchanged(s, &d),
                     MS_OK);
    assert_true(ms_world_snapshots_checksum(s, i + 1) == ms_world_model_checksum(f->wm));
    assert_int_equal(ms_world_snapshots_top(s), i + 1);
    ms_lifecycle_snapshot_save(f->lc, f->lc_states + (i + 1) * f->lc_size);
}

static void back(fixture *f, ms_world_snapshots *s, size_t pos)
{
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(ms_world_snapshots_restore(s, pos, &d), MS_OK);
    ms_lifecycle_snapshot_restore(f->lc, f->lc_states + pos * f->lc_size);
    uint64_t first;
    assert_true(ms_world_snapshots_first_checksum(s, pos, &first));
    assert_true(first == ms_world_model_checksum(f->wm));
}

static void check_step_back(bool bf16)
{
    fixture f = {0};
    setup_run_of(&f, bf16);
    ms_world_snapshots *s = NULL;
    ms_diag d;
    ms_diag_clear(&d);
    uint64_t base = ms_world_model_checksum(f.wm);
    assert_int_equal(ms_world_snapshots_new(f.wm, &s, &d), MS_OK);
    assert_int_equal(ms_world_snapshots_bytes(s) > 0, 1);
    size_t bytes0 = ms_world_snapshots_bytes(s);
    ms_lifecycle_snapshot_save(f.lc, f.lc_states);
    for (size_t i = 0; i < f.n; i++)
        step(&f, s, i);
    assert_true(f.unchanged_calls > 0);
    uint64_t end = ms_world_model_checksum(f.wm);
    assert_true(end != base);
    assert_true(ms_world_snapshots_checksum(s, f.n) == end);
    assert_true(ms_world_snapshots_bytes(s) > bytes0);
    /* from the end to the middle of the calibration, and forward again */
    size_t mid = f.n / 2;
    back(&f, s, mid);
    for (size_t i = mid; i < f.n; i++) {
        step(&f, s, i);
        uint64_t first;
        assert_true(ms_world_snapshots_first_checksum(s, i + 1, &first));
        assert_true(first == ms_world_snapshots_checksum(s, i + 1));
    }
    /* one call back at a time, all the way */
    for (size_t p = f.n; p-- > 0;)
        back(&f, s, p);
    assert_true(ms_world_model_checksum(f.wm) == base);
    assert_int_equal(ms_world_snapshots_bytes(s), bytes0);
    /* a position never recorded is refused, naming what is */
    assert_int_equal(ms_world_snapshots_restore(s, 3, &d), MS_ERR_INVALID);
    assert_non_null(strstr(d.message, "recorded: 0 to 0"));
    ms_world_snapshots_free(s);
    teardown_run(&f);
}

static void step_back_restores_exactly(void **state)
{
    (void)state;
    check_step_back(false);
}

/* The same with the weights stored in BF16: the snapshots keep the stored
 * bytes, and GPTQ's writes round to BF16 as upstream's W.to(dtype). */
static void step_back_restores_bf16_weights_exactly(void **state)
{
    (void)state;
    check_step_back(true);
}

static void output_errors_follow_the_weights(void **state)
{
    (void)state;
    fixture f = {0};
    setup_run(&f);
    const ms_model *m = ms_world_model_model(f.wm);
    size_t nm = ms_model_module_count(m);
    double *err = malloc(nm * sizeof *err);
    assert_non_null(err);
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(ms_world_model_output_errors(f.wm, err, &d), MS_OK);
    size_t q0 = 0, norm = 0, lm = 0;
    assert_true(ms_model_find(m, "model.layers.0.self_attn.q_proj", &q0));
    assert_true(ms_model_find(m, "model.norm", &norm));
    assert_true(ms_model_find(m, "lm_head", &lm));
    assert_true(err[q0] == 0.0);
    assert_true(err[lm] == 0.0);
    assert_true(isnan(err[norm]));
    for (size_t i = 0; i < f.n; i++) {
        ms_raise raised;
        assert_int_equal(ms_call_run(&f.calls[i], f.lc, &raised), MS_OK);
    }
    assert_int_equal(ms_world_model_output_errors(f.wm, err, &d), MS_OK);
    assert_true(err[q0] > 0.01 && err[q0] < 2.0);
    assert_true(err[lm] > 0.0); /* ignored by both, its input changed */
    assert_non_null(ms_world_model_scheme(f.wm, q0));
    assert_int_equal(ms_world_model_scheme(f.wm, q0)->num_bits, 4);
    assert_null(ms_world_model_scheme(f.wm, lm));
    free(err);
    teardown_run(&f);
}

/* A front end's stop (Esc) ends the world's work at the next module with
 * E-WORLD-STOPPED; restoring the snapshot clears it, and the run then gives
 * the weights of a run never stopped. */
static void stop_then_restore_gives_the_uninterrupted_run(void **state)
{
    (void)state;
    fixture plain = {0};
    setup_run(&plain);
    for (size_t i = 0; i < plain.n; i++) {
        ms_raise raised;
        assert_int_equal(ms_call_run(&plain.calls[i], plain.lc, &raised), MS_OK);
    }
    uint64_t want = ms_world_model_checksum(plain.wm);
    teardown_run(&plain);

    fixture f = {0};
    setup_run(&f);
    ms_world_snapshots *s = NULL;
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(ms_world_snapshots_new(f.wm, &s, &d), MS_OK);
    ms_lifecycle_snapshot_save(f.lc, f.lc_states);
    uint64_t base = ms_world_model_checksum(f.wm);
    atomic_bool stop = true;
    ms_world_model_set_stop(f.wm, &stop);
    for (size_t i = 0; i < f.n; i++) {
        ms_raise raised;
        assert_int_equal(ms_call_run(&f.calls[i], f.lc, &raised), MS_OK);
    }
    assert_int_equal(ms_world_model_error(f.wm, &d), MS_ERR_LIMIT);
    assert_string_equal(d.code, "E-WORLD-STOPPED");
    back(&f, s, 0);
    assert_int_equal(ms_world_model_error(f.wm, &d), MS_OK);
    assert_true(ms_world_model_checksum(f.wm) == base);
    stop = false;
    for (size_t i = 0; i < f.n; i++)
        step(&f, s, i);
    assert_true(ms_world_model_checksum(f.wm) == want);
    ms_world_snapshots_free(s);
    teardown_run(&f);
}

/* SparseGPT prunes 3% (too few zeros for GPTQ to keep, SPARSITY_THRESHOLD
 * 0.05), ConstantPruning keeps those zeros from its start at step 1, GPTQ
 * fills them, the optim_post_step zeroes them again. */
static const char constant_scenario[] =
    "recipe: |\n"
    "  s_stage:\n"
    "    m_modifiers:\n"
    "      SparseGPTModifier: {sparsity: 0.03, targets: ['re:model.layers.\\d+$'],\n"
    "                          ignore: ['re:.*lm_head']}\n"
    "      ConstantPruningModifier: {targets: ['re:.*proj.weight'], start: 1}\n"
    "      GPTQModifier:\n"
    "        ignore: [lm_head]\n"
    "        config_groups:\n"
    "          g: {targets: [Linear], weights: {num_bits: 3, strategy: channel}}\n"
    "calls:\n"
    "  - initialize\n"
    "  - {event: calibration_epoch_start, only: 0}\n"
    "  - {event: sequential_epoch_end, only: 0, modules: [model]}\n"
    "  - {event: calibration_epoch_end, only: 0}\n"
    "  - {event: batch_start, global_step: 1}\n"
    "  - {event: calibration_epoch_start, only: 2}\n"
    "  - {event: sequential_epoch_end, only: 2, modules: [model]}\n"
    "  - {event: calibration_epoch_end, only: 2}\n"
    "  - {event: loss_calculated, global_step: 1, loss: 1.0}\n"
    "  - {event: optim_pre_step, global_step: 1}\n"
    "  - {event: optim_post_step, global_step: 1}\n"
    "  - {event: batch_end, global_step: 1}\n"
    "  - finalize\n";

static size_t zeros_of(const ms_world_model *wm, const char *name, const unsigned char *where,
                       unsigned char *now)
{
    const ms_model *m = ms_world_model_model(wm);
    size_t i, zeros = 0;
    assert_true(ms_model_find(m, name, &i));
    size_t n = ms_module_numel(ms_model_module(m, i));
    float *w = malloc(n * sizeof *w);
    assert_non_null(w);
    ms_model_weight_read(m, i, w);
    for (size_t k = 0; k < n; k++) {
        if (now)
            now[k] = w[k] == 0;
        zeros += w[k] == 0 && (!where || where[k]);
    }
    free(w);
    return zeros;
}

static void constant_masks_come_back(void **state)
{
    (void)state;
    ms_diag_list diags;
    ms_diag_list_init(&diags);
    ms_scenario *sc = NULL;
    assert_int_equal(
        ms_scenario_parse(constant_scenario, strlen(constant_scenario), "sc.yaml", &sc, &diags),
        MS_OK);
    ms_diag_list_free(&diags);
    fixture f = {0};
    ms_diag d;
    ms_diag_clear(&d);
    ms_model_spec spec;
    ms_model *model = NULL;
    assert_int_equal(ms_model_spec_parse(spec_text, strlen(spec_text), "spec.yaml", &spec, &d),
                     MS_OK);
    assert_int_equal(ms_model_new(&spec, &model, &d), MS_OK);
    ms_world_model_config cfg = ms_world_model_defaults();
    cfg.calib_batch = 2;
    cfg.calib_seq = 16;
    const ms_recipe *r = ms_scenario_recipe(sc);
    assert_int_equal(ms_world_model_new(model, r, &cfg, &f.wm, &d), MS_OK);
    for (size_t m = 0; m < ms_recipe_count(r); m++)
        ms_world_model_set_calibration(f.wm, m, MS_WORLD_WHOLE);
    assert_int_equal(ms_recipe_build_lifecycle(r, &f.lc, &d), MS_OK);
    assert_int_equal(ms_lifecycle_set_world(f.lc, ms_world_model_world(f.wm)), MS_OK);
    ms_lifecycle_set_calibration_data(f.lc, true);
    f.n = ms_scenario_call_count(sc);
    f.calls = malloc(f.n * sizeof *f.calls);
    assert_non_null(f.calls);
    for (size_t i = 0; i < f.n; i++)
        f.calls[i] = *ms_scenario_call_at(sc, i);
    f.sink = (ms_sink){.emit = count_change, .user = &f};
    ms_world_model_set_sink(f.wm, &f.sink);
    f.lc_size = ms_lifecycle_snapshot_size(f.lc);
    f.lc_states = malloc((f.n + 1) * f.lc_size);
    assert_non_null(f.lc_states);
    ms_world_snapshots *s = NULL;
    assert_int_equal(ms_world_snapshots_new(f.wm, &s, &d), MS_OK);
    ms_lifecycle_snapshot_save(f.lc, f.lc_states);

    const char *q = "model.layers.1.self_attn.q_proj";
    unsigned char pruned[32 * 32];
    for (size_t i = 0; i < 3; i++) /* SparseGPT's calibration */
        step(&f, s, i);
    size_t kept = zeros_of(f.wm, q, NULL, pruned);
    assert_true(kept >= 30 && kept < 40); /* 3% of 1024 */
    for (size_t i = 3; i < 7; i++)        /* the masks made, then GPTQ */
        step(&f, s, i);
    size_t filled = kept - zeros_of(f.wm, q, pruned, NULL);
    assert_true(filled > 0);
    for (size_t i = 7; i < f.n; i++) /* optim_post_step at call 10, then finalize */
        step(&f, s, i);
    assert_int_equal(zeros_of(f.wm, q, pruned, NULL), kept);
    uint64_t end = ms_world_model_checksum(f.wm);
    /* GPTQ's scales, kept by the world through the masks' multiply */
    size_t qi;
    assert_true(ms_model_find(ms_world_model_model(f.wm), q, &qi));
    const ms_world_qparams *qp = ms_world_model_qparams(f.wm, qi);
    assert_non_null(qp);
    assert_int_equal(qp->scheme.num_bits, 3);
    assert_int_equal(qp->srows * qp->scols, 32);
    float scales[32];
    memcpy(scales, qp->scales, sizeof scales);
    /* back before the post step: finalize removed the masks, the step back
     * brings them back, and the post step zeroes the same values again */
    back(&f, s, 10);
    assert_int_equal(kept - zeros_of(f.wm, q, pruned, NULL), filled);
    for (size_t i = 10; i < f.n; i++)
        step(&f, s, i);
    assert_true(ms_world_model_checksum(f.wm) == end);
    /* back before the masks were made (and GPTQ), and forward again: the
     * scales go and come back */
    back(&f, s, 4);
    assert_null(ms_world_model_qparams(f.wm, qi));
    for (size_t i = 4; i < f.n; i++)
        step(&f, s, i);
    assert_true(ms_world_model_checksum(f.wm) == end);
    qp = ms_world_model_qparams(f.wm, qi);
    assert_non_null(qp);
    assert_memory_equal(qp->scales, scales, sizeof scales);
    ms_world_snapshots_free(s);
    free(f.lc_states);
    free(f.calls);
    ms_lifecycle_free(f.lc);
    ms_world_model_free(f.wm);
    ms_scenario_free(sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(step_back_restores_exactly),
        cmocka_unit_test(step_back_restores_bf16_weights_exactly),
        cmocka_unit_test(output_errors_follow_the_weights),
        cmocka_unit_test(stop_then_restore_gives_the_uninterrupted_run),
        cmocka_unit_test(constant_masks_come_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
