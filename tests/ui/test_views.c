/* The views without a terminal: the app renders into a curses screen whose
 * output goes to /dev/null, and the test reads the windows back as text. */
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

#include "app_fixture.h"

typedef struct fixture {
    headless term;
    app a;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    /* the screens over the lifecycle alone; test_model.c steps a model */
    if (!f || app_fixture_open(&f->term, &f->a, "none") != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    app_fixture_close(&f->term, &f->a);
    free(f);
    return 0;
}

/* The demo opens on the run oneshot() makes: initialize, each modifier's
 * own calibration pass (3 calls for the pruning modifiers, 7 for
 * SmoothQuant and GPTQ over 5 subgraphs), finalize; the pruning modifiers
 * never start (index 0), and the header says what the run is. */
static void views_demo_opens_on_the_whole_timeline(void **state)
{
    app *a = &((fixture *)*state)->a;
    assert_int_equal(a->view, VIEW_TIMELINE);
    assert_int_equal(ms_sim_position(a->sim), 0);
    assert_int_equal(ms_sim_explored(a->sim), ms_sim_call_count(a->sim));
    const char *row = body_line_with(a, "0 MagnitudePruningModifier");
    assert_non_null(row);
    assert_non_null(strstr(row, "I\u00b7\u00b7\u00b7"));
    assert_null(strstr(row, "S"));
    assert_non_null(strstr(body_line_with(a, "2 SmoothQuantModifier"), "S\u2501"));
    assert_non_null(strstr(line(a->w_tabs, 0), "call 0/22"));
    /* at 80 columns the badge is short */
    assert_non_null(strstr(line(a->w_tabs, 0), "upstream"));
    assert_non_null(strstr(line(a->w_status, 0), "t transition"));
}

static void views_tab_and_digits_switch_screens(void **state)
{
    app *a = &((fixture *)*state)->a;
    press(a, "\t");
    assert_int_equal(a->view, VIEW_STEPPER);
    app_key(a, KEY_BTAB, true);
    assert_int_equal(a->view, VIEW_TIMELINE);
    press(a, "5");
    assert_int_equal(a->view, VIEW_HELP);
    assert_non_null(body_line_with(a, "Everywhere"));
    press(a, "1");
    assert_int_equal(a->view, VIEW_SCHEDULE);
    assert_non_null(body_line_with(a, "oneshot (stage)"));
    app_mouse(a, 0, a->tab_x[VIEW_EXPLAIN] + 1);
    assert_int_equal(a->view, VIEW_EXPLAIN);
    assert_int_equal(app_key(a, 'q', false), UI_QUIT);
}

static void views_stepping_updates_flags_and_log(void **state)
{
    app *a = &((fixture *)*state)->a;
    /* initialize, then SmoothQuant starting in its own pass (call 7) */
    press(a, "3tt");
    assert_int_equal(ms_sim_position(a->sim), 8);
    const char *row = body_line_with(a, "2 SmoothQuantModifier");
    assert_non_null(row);
    assert_non_null(strstr(row, "\u2713     \u2713     \u00b7     \u00b7"));
    assert_non_null(body_line_with(a, "m2 start,update"));
    assert_non_null(strstr(a->message, "2 SmoothQuantModifier started"));
    assert_non_null(body_line_with(a, "calibration_epoch_start [m2 only]"));
    press(a, "b");
    assert_int_equal(ms_sim_position(a->sim), 7);
    press(a, "r");
    assert_int_equal(ms_sim_position(a->sim), 0);
}

static void views_explain_shows_the_rule(void **state)
{
    app *a = &((fixture *)*state)->a;
    press(a, "tj4");
    /* ConstantPruning (start 1.5) after initialize */
    assert_non_null(body_line_with(a, "on_initialize; not started at initialize: start 1.5 > "
                                      "index 0"));
    /* modifier 0's pass: the lifecycle is narrowed to it */
    press(a, "lll");
    assert_non_null(body_line_with(a, "narrows the lifecycle to modifier 0"));
    /* its own pass: calibration events do not start a training-driven modifier */
    press(a, "l");
    assert_non_null(body_line_with(a, "only batch_start starts a modifier"));
}

static void views_index_breakpoint_from_the_prompt(void **state)
{
    app *a = &((fixture *)*state)->a;
    press(a, "c");
    assert_non_null(strstr(a->message, "no breakpoint"));
    /* upstream's events never reach 1.5; the intended index does */
    press(a, "@1.5\n");
    assert_int_equal(ms_sim_break_count(a->sim), 1);
    press(a, "rc");
    assert_null(strstr(a->message, "breakpoint (index >= 1.5)"));
    press(a, "3i");
    press(a, "@1.5\nc");
    assert_non_null(strstr(a->message, "breakpoint (index >= 1.5)"));
    assert_true(ms_sim_call_index(a->sim, ms_sim_position(a->sim) - 1) == 1.5);
    press(a, "@x\n");
    assert_non_null(strstr(a->message, "not a number"));
}

/* The run keys: layers, pipeline, the intended index and the training loop
 * regenerate the calls, and the header says when the run is not upstream's. */
static void views_pipeline_keys_regenerate_the_calls(void **state)
{
    app *a = &((fixture *)*state)->a;
    press(a, "3]");
    assert_int_equal(ms_sim_call_count(a->sim), 24);
    press(a, "p");
    assert_int_equal(a->cfg.calibration, MS_PIPELINE_NONE);
    assert_int_equal(ms_sim_call_count(a->sim), 2);
    press(a, "p");
    assert_int_equal(a->cfg.calibration, MS_PIPELINE_SEQUENTIAL);
    assert_non_null(body_line_with(a, "oneshot(pipeline=\"sequential\")"));
    assert_non_null(strstr(line(a->w_tabs, 0), "upstream"));
    press(a, "i");
    assert_int_equal(a->cfg.index_mode, MS_INDEX_STEP);
    assert_int_equal(a->cfg.epochs, 3); /* the demo's schedule reaches epoch 1.75 */
    assert_non_null(body_line_with(a, "INTENDED epoch"));
    assert_non_null(strstr(line(a->w_tabs, 0), "INTENDED"));
    press(a, "ii");
    assert_int_equal(a->cfg.index_mode, MS_INDEX_UPSTREAM);
    assert_int_equal(a->cfg.epochs, 0);
    press(a, "T");
    assert_int_equal(a->cfg.calibration, MS_PIPELINE_NONE);
    assert_int_equal(ms_sim_call_count(a->sim), 2 + 3 * 4 * 5);
    assert_non_null(body_line_with(a, "a training loop of your own calling LifecycleCallbacks"));
    assert_non_null(strstr(line(a->w_tabs, 0), "upstream"));
    assert_null(strstr(line(a->w_tabs, 0), "NOT UPSTREAM"));
    press(a, "T");
    assert_int_equal(ms_sim_call_count(a->sim), 22);
}

/* u on the Timeline: upstream's run above the intended one, the differences
 * in words, and back */
static void views_compare_shows_upstream_beside_intended(void **state)
{
    app *a = &((fixture *)*state)->a;
    press(a, "u");
    assert_non_null(body_line_with(a, "upstream (22 calls): oneshot()"));
    assert_non_null(body_line_with(a, "intended (82 calls)"));
    assert_non_null(body_line_with(a, "2 of 4 modifiers differ"));
    const char *diff = body_line_with(a, "0 MagnitudePruningModifier: starts at 0.25 as intended; "
                                         "never starts upstream");
    assert_non_null(diff);
    press(a, "u");
    assert_null(body_line_with(a, "modifiers differ"));
    assert_non_null(body_line_with(a, "0 MagnitudePruningModifier"));
}

static void views_small_terminal_says_so(void **state)
{
    app *a = &((fixture *)*state)->a;
    resize_term(8, 30);
    app_screen_resize(a);
    app_render(a);
    assert_true(a->too_small);
    assert_non_null(strstr(line(stdscr, 4), "terminal too small"));
    resize_term(24, 80);
    app_screen_resize(a);
    app_render(a);
    assert_false(a->too_small);
    assert_non_null(body_line_with(a, "MagnitudePruningModifier"));
}

static void views_bad_file_shows_the_diagnostic(void **state)
{
    app *a = &((fixture *)*state)->a;
    app_close(a);
    memset(a, 0, sizeof *a);
    a->utf8 = true;
    app_open(a, "/nonexistent/recipe.yaml");
    app_screen_init(a);
    app_render(a);
    assert_true(a->load_failed);
    assert_int_equal(a->view, VIEW_SCHEDULE);
    assert_non_null(body_line_with(a, "did not load"));
    press(a, "n2");
    assert_non_null(strstr(a->message, "nothing to run"));
    assert_non_null(body_line_with(a, "Nothing to show"));
}

static void views_form_edits_undoes_and_asks_before_quitting(void **state)
{
    app *a = &((fixture *)*state)->a;
    press(a, "1e");
    assert_true(a->form_open);
    assert_non_null(body_line_with(a, "Form: 0 MagnitudePruningModifier"));
    /* typing goes into the field while it is edited, so "2" is text here */
    press(a, "\n");
    app_key(a, MS_KEY_CTRL('u'), false);
    press(a, "2x");
    assert_int_equal(a->view, VIEW_SCHEDULE);
    assert_string_equal(a->edit_diag.code, "E-TYPE");
    app_key(a, KEY_BACKSPACE, true);
    press(a, "\n");
    assert_false(a->editing);
    assert_true(ms_draft_dirty(a->draft));
    assert_true(ms_modifier_start(ms_sim_modifier(a->sim, 0)).value == 2);
    press(a, "u");
    assert_false(ms_draft_dirty(a->draft));
    assert_true(ms_modifier_start(ms_sim_modifier(a->sim, 0)).value == 0.25);
    press(a, "\x12"); /* ^R */
    assert_true(ms_draft_dirty(a->draft));
    assert_int_equal(app_key(a, 'q', false), UI_HANDLED);
    assert_int_equal(a->prompting, PROMPT_QUIT);
    assert_int_equal(app_key(a, 'c', false), UI_HANDLED);
    assert_int_equal(a->prompting, PROMPT_NONE);
    press(a, "\x1b"); /* Esc leaves the form */
    assert_false(a->form_open);
    assert_int_equal(app_key(a, 'q', false), UI_HANDLED);
    assert_int_equal(app_key(a, 'n', false), UI_QUIT);
}

/* One rule on every screen: after an edit that leaves errors, the top line of
 * each says that it shows the last schedule without errors. */
static void views_every_screen_says_the_session_is_stale(void **state)
{
    app *a = &((fixture *)*state)->a;
    assert_null(strstr(line(a->w_tabs, 0), "STALE"));
    press(a, "1e\n");
    app_key(a, MS_KEY_CTRL('u'), false);
    press(a, "soon\n\x1b");
    assert_true(a->sim_stale);
    for (const char *v = "1234"; *v; v++) {
        char key[2] = {*v, '\0'};
        press(a, key);
        assert_non_null(strstr(line(a->w_tabs, 0), "STALE: has errors"));
    }
    press(a, "1u");
    assert_false(a->sim_stale);
    assert_null(strstr(line(a->w_tabs, 0), "STALE"));
}

/* Issue 12: the clock is typed (a name with no value fits the recipe), the
 * event log scrolls back and `/` on the Stepper searches its calls. */
static void views_stepper_clock_entry_log_scroll_and_search(void **state)
{
    app *a = &((fixture *)*state)->a;
    press(a, "3e");
    assert_non_null(body_line_with(a, "epochs=0 steps=4 batches=- layers=4_"));
    app_key(a, MS_KEY_CTRL('u'), false);
    press(a, "epochs=3 steps=x\n");
    assert_true(a->message_error);
    assert_non_null(strstr(a->message, "steps=x: steps is a whole number"));
    assert_int_equal(a->cfg.epochs, 0); /* nothing applied: still typing */
    app_key(a, MS_KEY_CTRL('u'), false);
    press(a, "epochs= steps=10 batches=2 layers=6\n");
    assert_false(a->message_error);
    assert_int_equal(a->cfg.epochs, ms_pipeline_training(a->rec).epochs);
    assert_int_equal(a->cfg.steps_per_epoch, 10);
    assert_int_equal(a->cfg.batches_per_step, 2);
    assert_int_equal(a->cfg.layers, 6);
    assert_non_null(strstr(a->message, "calls generated"));
    /* typing `q` into the clock does not quit; Esc leaves it unchanged */
    press(a, "e");
    assert_int_equal(app_key(a, 'q', false), UI_HANDLED);
    press(a, "\x1b");
    assert_non_null(strstr(a->message, "clock unchanged"));
    press(a, "G");
    size_t pos = ms_sim_position(a->sim);
    assert_non_null(body_line_with(a, "PgUp: older"));
    app_key(a, KEY_PPAGE, true);
    app_render(a);
    assert_non_null(body_line_with(a, "(PgDn: newer)"));
    app_key(a, KEY_NPAGE, true);
    app_render(a);
    assert_non_null(body_line_with(a, "PgUp: older"));
    press(a, "/initialize\n");
    assert_false(a->message_error);
    assert_non_null(strstr(a->message, "/initialize: call 0 initialize"));
    assert_non_null(body_line_with(a, "up to call 0 of"));
    press(a, "/nosuchthing\n");
    assert_true(a->message_error);
    assert_int_equal(ms_sim_position(a->sim), pos);
}

/* Issue 12: a long diagnostic is never cut at the screen's edge: the focused
 * diagnostics pane shows the selected one in full, and a message wider than
 * the line wraps over the body's last rows. */
static void views_long_diagnostics_wrap(void **state)
{
    app *a = &((fixture *)*state)->a;
    press(a, "1Ej");
    const char *detail = body_line_with(a, "(hint: ");
    assert_non_null(detail);
    press(a, "\x1b");
    assert_null(body_line_with(a, "(hint: "));
    app_message(a, true, "%s",
                "the first words of a long message that does not fit on one line of eighty "
                "columns, and the last words at the end");
    app_render(a);
    assert_int_equal(a->message_rows, 1);
    assert_non_null(strstr(line(a->w_body, a->body_rows - 1), "the first words"));
    assert_non_null(strstr(line(a->w_msg, 0), "the last words at the end"));
    app_message(a, false, "short");
    app_render(a);
    assert_int_equal(a->message_rows, 0);
    assert_null(strstr(line(a->w_body, a->body_rows - 1), "the first words"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(views_demo_opens_on_the_whole_timeline),
        T(views_tab_and_digits_switch_screens),
        T(views_stepping_updates_flags_and_log),
        T(views_explain_shows_the_rule),
        T(views_index_breakpoint_from_the_prompt),
        T(views_pipeline_keys_regenerate_the_calls),
        T(views_compare_shows_upstream_beside_intended),
        T(views_small_terminal_says_so),
        T(views_bad_file_shows_the_diagnostic),
        T(views_form_edits_undoes_and_asks_before_quitting),
        T(views_every_screen_says_the_session_is_stale),
        T(views_stepper_clock_entry_log_scroll_and_search),
        T(views_long_diagnostics_wrap),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
