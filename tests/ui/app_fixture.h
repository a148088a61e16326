/* The app on a headless screen, as the UI tests drive it: opened on a model
 * (or "none"), keys pressed one at a time with the app's work done after
 * each, and the windows read back as text. */
#ifndef MS_TEST_APP_FIXTURE_H
#define MS_TEST_APP_FIXTURE_H

#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "app.h"
#include "headless.h"

/* Runs the app's pending work to its end, then draws. */
static inline void app_fixture_settle(app *a)
{
    while (!app_work(a, 1000))
        ;
    app_render(a);
}

/* Opens the app on the demo over the model `model_arg` on headless `term`;
 * -1 when there is no screen. */
static inline int app_fixture_open(headless *term, app *a, const char *model_arg)
{
    if (headless_open(term) != 0)
        return -1;
    a->utf8 = true;
    snprintf(a->model_arg, sizeof a->model_arg, "%s", model_arg);
    app_open(a, NULL);
    app_screen_init(a);
    app_fixture_settle(a);
    return 0;
}

static inline void app_fixture_close(headless *term, app *a)
{
    app_close(a);
    headless_close(term);
}

/* Line `y` of window `w` as UTF-8 (until the next call). */
static inline const char *line(WINDOW *w, int y)
{
    static char text[1024];
    wchar_t wide[512];
    int n = mvwinnwstr(w, y, 0, wide, 511);
    wide[n > 0 ? n : 0] = L'\0';
    wcstombs(text, wide, sizeof text);
    return text;
}

/* The body line holding `needle`, or NULL. */
static inline const char *body_line_with(app *a, const char *needle)
{
    for (int y = 0; y < a->body_rows; y++)
        if (strstr(line(a->w_body, y), needle))
            return line(a->w_body, y);
    return NULL;
}

/* Each key of `keys` ('\n' is Enter), the app settling after each. */
static inline void press(app *a, const char *keys)
{
    for (; *keys; keys++) {
        app_key(a, *keys == '\n' ? '\r' : *keys, false);
        app_fixture_settle(a);
    }
}

#endif
