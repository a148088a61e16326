/* The Model screen and the model track: the rows' order and filter, the
 * mask picture and scale histogram, and the app stepping the demo on the
 * tiny model: the figures change as it steps, a step back gives the
 * checksum recorded when that call was first reached, Esc during a long
 * step puts the model back where the step began. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <cmocka.h>

#include <math.h>

#include "app_fixture.h"
#include "model_track.h"

/* ---- the order, without a model ---- */

static const char *type_of(void *user, int m)
{
    (void)user;
    return m == 0 ? "SparseGPTModifier" : "GPTQModifier";
}

static ui_model_report three_rows(ui_model_row rows[3])
{
    memset(rows, 0, 3 * sizeof *rows);
    rows[0] = (ui_model_row){.module = 4,
                             .name = "model.layers.0.self_attn.q_proj",
                             .class_name = "Linear",
                             .owner = 1,
                             .sparsity = 0.5,
                             .bits = 4,
                             .rel_error = 0.2,
                             .out_error = 0.1};
    rows[1] = (ui_model_row){.module = 5,
                             .name = "model.layers.0.mlp.down_proj",
                             .class_name = "Linear",
                             .owner = -1,
                             .sparsity = 0.0,
                             .bits = 0,
                             .rel_error = 0.0,
                             .out_error = NAN};
    rows[2] = (ui_model_row){.module = 9,
                             .name = "model.layers.1.self_attn.q_proj",
                             .class_name = "Linear",
                             .owner = 0,
                             .sparsity = 0.7,
                             .bits = 0,
                             .rel_error = 0.4,
                             .out_error = 0.3};
    return (ui_model_report){.valid = true, .rows = rows, .nrows = 3};
}

static void model_order_sorts_and_filters(void **state)
{
    (void)state;
    ui_model_row rows[3];
    ui_model_report r = three_rows(rows);
    size_t out[3], n;
    n = ui_model_order(&r, UI_SORT_MODULE, false, "", type_of, NULL, out);
    assert_int_equal(n, 3);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[2], 2);
    /* the largest first; reversed, the smallest */
    n = ui_model_order(&r, UI_SORT_SPARSITY, false, "", type_of, NULL, out);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[2], 1);
    n = ui_model_order(&r, UI_SORT_SPARSITY, true, "", type_of, NULL, out);
    assert_int_equal(out[0], 1);
    /* no output error (NAN) sorts last either way */
    n = ui_model_order(&r, UI_SORT_OUTPUT, false, "", type_of, NULL, out);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[2], 1);
    n = ui_model_order(&r, UI_SORT_OUTPUT, true, "", type_of, NULL, out);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[2], 1);
    /* modifier 0 first, none last */
    n = ui_model_order(&r, UI_SORT_OWNER, false, "", type_of, NULL, out);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], 0);
    assert_int_equal(out[2], 1);
    /* the filter reads names, classes and the owner's type, ignoring case */
    n = ui_model_order(&r, UI_SORT_MODULE, false, "Q_PROJ", type_of, NULL, out);
    assert_int_equal(n, 2);
    n = ui_model_order(&r, UI_SORT_MODULE, false, "sparsegpt", type_of, NULL, out);
    assert_int_equal(n, 1);
    assert_int_equal(out[0], 2);
    n = ui_model_order(&r, UI_SORT_MODULE, false, "nothing", type_of, NULL, out);
    assert_int_equal(n, 0);
    double v;
    assert_true(ui_model_measured_sparsity(&r, 0, &v));
    assert_true(v == 0.7);
    assert_false(ui_model_measured_sparsity(&r, 5, &v));
}

static void model_detail_draws_the_mask_and_the_steps(void **state)
{
    (void)state;
    enum { R = 2, C = 8 };
    /* 2:4 zeros; groups of 4 whose steps are 0.5 and 0.25 */
    float w[R * C] = {0, 1, 0, -0.5, 0.5, 0, 1.5, 0, 0, 0.25, -0.5, 0, 0, 0.75, 0, 0.25};
    ui_model_row row = {.shape = {R, C}};
    ui_model_row_detail(&row, w, 4);
    assert_string_equal(row.mask[0], ".#.##.#.");
    assert_string_equal(row.mask[1], ".##..#.#");
    assert_int_equal(row.mask[2][0], 0);
    assert_int_equal(row.groups, 4);
    assert_true(row.hist_lo == 0.25 && row.hist_hi == 0.5);
    assert_int_equal(row.hist[0], 2);
    assert_int_equal(row.hist[UI_HIST_BINS - 1], 2);
    /* not quantized: no histogram */
    ui_model_row_detail(&row, w, 0);
    assert_int_equal(row.groups, 0);
}

/* ---- the app on the tiny model ---- */

typedef struct fixture {
    headless term;
    app a;
    char spec[64];
} fixture;

/* A model smaller than tiny, so the test is quick; its columns take W4A16's
 * groups of 128, so GPTQ compresses every projection but down_proj. */
static const char spec_text[] = "hidden_size: 128\n"
                                "intermediate_size: 256\n"
                                "num_layers: 2\n"
                                "num_heads: 4\n"
                                "num_kv_heads: 2\n"
                                "vocab_size: 128\n"
                                "rope_theta: 10000.0\n"
                                "rms_norm_eps: 1.0e-5\n"
                                "seed: 7\n";

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->spec, sizeof f->spec, "/tmp/modsim-model-XXXXXX.yaml");
    int fd = mkstemps(f->spec, 5);
    FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!out || fputs(spec_text, out) < 0 || fclose(out) != 0)
        return -1;
    if (app_fixture_open(&f->term, &f->a, f->spec) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    app_fixture_close(&f->term, &f->a);
    remove(f->spec);
    free(f);
    return 0;
}

static const ui_model_report *report(app *a)
{
    assert_non_null(a->model);
    const ui_model_report *r = ui_model_last(a->model);
    assert_true(r->valid);
    assert_string_equal(r->error, "");
    return r;
}

static void model_steps_and_steps_back_exactly(void **state)
{
    app *a = &((fixture *)*state)->a;
    const ui_model_report *r = report(a);
    assert_int_equal(r->pos, 0);
    /* off the Model screen the costly figures are not measured */
    assert_false(r->figures);
    assert_true(isnan(r->rows[0].out_error));
    uint64_t start = r->checksum;
    press(a, "6");
    app_fixture_settle(a);
    r = report(a);
    assert_true(r->figures);
    assert_true(r->metrics.kl == 0 && r->metrics.top1 == 1);
    assert_int_equal(a->view, VIEW_MODEL);
    assert_non_null(body_line_with(a, "at call 0"));
    /* the sequential pipeline's subgraphs are the model's 2 layers */
    assert_int_equal(a->cfg.layers, 2);
    assert_non_null(body_line_with(a, "model.layers.0.self_attn.q_proj"));
    press(a, "G");
    r = report(a);
    size_t end = ms_sim_call_count(a->sim);
    assert_int_equal(r->pos, end);
    uint64_t at_end = r->checksum;
    assert_true(at_end != start);
    assert_true(r->first == at_end);
    assert_true(r->metrics.kl > 0 && r->metrics.top1 < 1);
    /* GPTQ owns the attention projections now, at 4 bits */
    const char *q = body_line_with(a, "0.self_attn.q_proj ");
    assert_non_null(q);
    assert_non_null(strstr(q, "GPTQModifier"));
    assert_non_null(body_line_with(a, "scales of"));
    /* one call back: the checksum recorded when call end - 1 was reached */
    press(a, "b");
    r = report(a);
    assert_int_equal(r->pos, end - 1);
    assert_true(r->back);
    assert_true(r->checksum == r->first);
    assert_non_null(body_line_with(a, "= when first reached"));
    /* back to the start, then forward again: bit for bit the same */
    press(a, "r");
    r = report(a);
    assert_int_equal(r->pos, 0);
    assert_true(r->checksum == start);
    press(a, "G");
    r = report(a);
    assert_true(r->checksum == at_end);
    /* sorted by output error, filtered to the MLPs */
    press(a, "oooo");
    assert_non_null(body_line_with(a, "sort: output error"));
    press(a, "fmlp\r");
    assert_non_null(body_line_with(a, "filter: mlp"));
    assert_null(body_line_with(a, "self_attn"));
}

/* Esc while the worker runs the calls: whatever it ran goes back, and the
 * session with it, so the model is as before the step. */
static void model_esc_cancels_a_step(void **state)
{
    app *a = &((fixture *)*state)->a;
    uint64_t start = report(a)->checksum;
    size_t end = ms_sim_call_count(a->sim);
    app_key(a, 'G', false);
    app_key(a, 27, false);
    app_fixture_settle(a);
    const ui_model_report *r = report(a);
    assert_int_equal(r->pos, 0);
    assert_int_equal(ms_sim_position(a->sim), 0);
    assert_true(r->checksum == start);
    assert_non_null(strstr(a->message, "call 0, as before the step"));
    /* and the next run goes to the end as if nothing had happened */
    press(a, "G");
    assert_int_equal(report(a)->pos, end);
}

/* --model none: the screens without a model, saying so. */
static void model_none_says_there_is_none(void **state)
{
    app *a = &((fixture *)*state)->a;
    app_close(a);
    memset(a, 0, sizeof *a);
    a->utf8 = true;
    snprintf(a->model_arg, sizeof a->model_arg, "none");
    app_open(a, NULL);
    app_screen_init(a);
    app_fixture_settle(a);
    assert_null(a->model);
    press(a, "6G");
    assert_non_null(body_line_with(a, "no model: the run changes flags only"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_order_sorts_and_filters),
        cmocka_unit_test(model_detail_draws_the_mask_and_the_steps),
        cmocka_unit_test_setup_teardown(model_steps_and_steps_back_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(model_esc_cancels_a_step, setup, teardown),
        cmocka_unit_test_setup_teardown(model_none_says_there_is_none, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
