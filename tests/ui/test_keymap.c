/* The keymap as data: the keys the issue promises on every screen, screen
 * bindings over global ones, key names, the status line and the help. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "keymap.h"

static void keymap_promised_keys_work_on_every_screen(void **state)
{
    (void)state;
    static const struct {
        int key;
        ms_cmd cmd;
    } promised[] = {
        {MS_KEY_TAB, MS_CMD_NEXT_VIEW},
        {MS_KEY_BTAB, MS_CMD_PREV_VIEW},
        {'1', MS_CMD_VIEW_SCHEDULE},
        {'2', MS_CMD_VIEW_TIMELINE},
        {'3', MS_CMD_VIEW_STEPPER},
        {'4', MS_CMD_VIEW_EXPLAIN},
        {'5', MS_CMD_VIEW_HELP},
        {'n', MS_CMD_NEXT_EVENT},
        {'s', MS_CMD_NEXT_STEP},
        {'t', MS_CMD_NEXT_TRANSITION},
        {'G', MS_CMD_RUN_END},
        {'b', MS_CMD_STEP_BACK},
        {'r', MS_CMD_RESTART},
        {'q', MS_CMD_QUIT},
        {'?', MS_CMD_HELP},
        {'j', MS_CMD_DOWN},
        {'k', MS_CMD_UP},
        {MS_KEY_DOWN, MS_CMD_DOWN},
        {MS_KEY_UP, MS_CMD_UP},
        {MS_KEY_ESC, MS_CMD_CANCEL},
    };
    for (int s = 0; s < MS_SCOPE_COUNT; s++)
        for (size_t i = 0; i < sizeof promised / sizeof promised[0]; i++)
            assert_int_equal(ms_keymap_lookup((ms_scope)s, promised[i].key), promised[i].cmd);
}

static void keymap_screen_bindings_win_over_global_ones(void **state)
{
    (void)state;
    assert_int_equal(ms_keymap_lookup(MS_SCOPE_TIMELINE, 'h'), MS_CMD_SCROLL_LEFT);
    assert_int_equal(ms_keymap_lookup(MS_SCOPE_EXPLAIN, 'h'), MS_CMD_CALL_PREV);
    assert_int_equal(ms_keymap_lookup(MS_SCOPE_SCHEDULE, 'h'), MS_CMD_NONE);
    assert_int_equal(ms_keymap_lookup(MS_SCOPE_STEPPER, 'p'), MS_CMD_PIPELINE);
    assert_int_equal(ms_keymap_lookup(MS_SCOPE_TIMELINE, 'p'), MS_CMD_NONE);
    assert_int_equal(ms_keymap_lookup(MS_SCOPE_GLOBAL, 'Z'), MS_CMD_NONE);
    /* editing keys live on the Schedule and in its form only */
    assert_int_equal(ms_keymap_lookup(MS_SCOPE_SCHEDULE, 'e'), MS_CMD_EDIT);
    assert_int_equal(ms_keymap_lookup(MS_SCOPE_SCHEDULE, MS_KEY_ENTER), MS_CMD_EDIT);
    assert_int_equal(ms_keymap_lookup(MS_SCOPE_SCHEDULE, 'K'), MS_CMD_MOVE_UP);
    assert_int_equal(ms_keymap_lookup(MS_SCOPE_SCHEDULE, MS_KEY_CTRL('r')), MS_CMD_REDO);
    assert_int_equal(ms_keymap_lookup(MS_SCOPE_FORM, ' '), MS_CMD_VALUE_NEXT);
    assert_int_equal(ms_keymap_lookup(MS_SCOPE_FORM, 'u'), MS_CMD_UNDO);
    assert_int_equal(ms_keymap_lookup(MS_SCOPE_TIMELINE, 'u'), MS_CMD_COMPARE);
    assert_int_equal(ms_keymap_lookup(MS_SCOPE_STEPPER, 'u'), MS_CMD_NONE);
    assert_int_equal(ms_keymap_lookup(MS_SCOPE_TIMELINE, 'd'), MS_CMD_NONE);
}

/* No key is bound twice in one scope: the second binding would be dead. */
static void keymap_has_no_duplicate_keys(void **state)
{
    (void)state;
    for (size_t i = 0; i < ms_keymap_count(); i++)
        for (size_t j = i + 1; j < ms_keymap_count(); j++) {
            const ms_binding *a = ms_keymap_at(i), *b = ms_keymap_at(j);
            if (a->scope == b->scope && a->key == b->key)
                fail_msg("key %d bound twice in scope %s", a->key, ms_scope_name(a->scope));
        }
    assert_null(ms_keymap_at(ms_keymap_count()));
}

static void keymap_names_keys(void **state)
{
    (void)state;
    char buf[16];
    ms_key_name(MS_KEY_BTAB, buf, sizeof buf);
    assert_string_equal(buf, "S-Tab");
    ms_key_name(MS_KEY_CTRL('l'), buf, sizeof buf);
    assert_string_equal(buf, "^L");
    ms_key_name('G', buf, sizeof buf);
    assert_string_equal(buf, "G");
    ms_key_name(MS_KEY_ESC, buf, sizeof buf);
    assert_string_equal(buf, "Esc");
    ms_key_name(0x2500, buf, sizeof buf);
    assert_string_equal(buf, "U+2500");
    char keys[64];
    ms_keymap_keys(MS_SCOPE_GLOBAL, MS_CMD_DOWN, keys, sizeof keys);
    assert_string_equal(keys, "j, Down");
    ms_keymap_keys(MS_SCOPE_GLOBAL, MS_CMD_SCROLL_LEFT, keys, sizeof keys);
    assert_string_equal(keys, "");
}

static void keymap_status_line_fits_its_width(void **state)
{
    (void)state;
    char buf[256];
    ms_keymap_status(MS_SCOPE_TIMELINE, buf, 80);
    assert_true(strlen(buf) <= 80);
    assert_memory_equal(buf, "+ zoom", 6); /* the screen's keys first */
    assert_non_null(strstr(buf, "n event"));
    ms_keymap_status(MS_SCOPE_STEPPER, buf, 20);
    assert_true(strlen(buf) <= 20);
    ms_keymap_status(MS_SCOPE_GLOBAL, buf, 200);
    assert_non_null(strstr(buf, "q quit"));
}

/* issue 12: at 80 columns the status line lost `q quit` and `? help` */
static void keymap_status_always_shows_help_and_quit(void **state)
{
    (void)state;
    char buf[256];
    for (int scope = 0; scope < MS_SCOPE_COUNT; scope++)
        for (size_t width = 16; width <= 200; width += 4) {
            ms_keymap_status((ms_scope)scope, buf, width);
            assert_true(strlen(buf) <= width);
            assert_non_null(strstr(buf, "? help"));
            assert_non_null(strstr(buf, "q quit"));
        }
    ms_keymap_status(MS_SCOPE_TIMELINE, buf, 80);
    assert_memory_equal(buf, "+ zoom", 6); /* still the screen's keys first */
}

typedef struct help_text {
    char text[16384];
    size_t lines;
} help_text;

static void collect(void *user, const char *line)
{
    help_text *h = user;
    strncat(h->text, line, sizeof h->text - strlen(h->text) - 2);
    strcat(h->text, "\n");
    h->lines++;
}

/* The help is generated from the table: every bound command shows up. */
static void keymap_help_lists_every_binding(void **state)
{
    (void)state;
    static help_text h;
    ms_keymap_help(collect, &h);
    for (size_t i = 0; i < ms_keymap_count(); i++)
        assert_non_null(strstr(h.text, ms_cmd_help(ms_keymap_at(i)->cmd)));
    assert_non_null(strstr(h.text, "Timeline\n  h, Left"));
    assert_non_null(strstr(h.text, "The lifecycle, in short"));
    assert_true(h.lines > 60);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keymap_promised_keys_work_on_every_screen),
        cmocka_unit_test(keymap_screen_bindings_win_over_global_ones),
        cmocka_unit_test(keymap_has_no_duplicate_keys),
        cmocka_unit_test(keymap_names_keys),
        cmocka_unit_test(keymap_status_line_fits_its_width),
        cmocka_unit_test(keymap_status_always_shows_help_and_quit),
        cmocka_unit_test(keymap_help_lists_every_binding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
