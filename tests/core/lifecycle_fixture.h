/* Shared by the lifecycle tests: a lifecycle over a recipe given as text,
 * whose hooks are logged as "MODIFIER:HOOK[:EVENT] " into one string. */
#ifndef MS_TEST_LIFECYCLE_FIXTURE_H
#define MS_TEST_LIFECYCLE_FIXTURE_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/lifecycle.h"
#include "recipe/recipe.h"

typedef struct hook_log {
    char text[4096];
    bool with_event; /* each hook's event type too ("-" when it got none) */
} hook_log;

static void log_hook(void *user, const ms_record *rec)
{
    hook_log *log = user;
    size_t n = strlen(log->text);
    if (log->with_event)
        snprintf(log->text + n, sizeof log->text - n, "%zu:%s:%s ", rec->modifier,
                 ms_hook_name(rec->hook), rec->event ? ms_event_type_name(rec->event->type) : "-");
    else
        snprintf(log->text + n, sizeof log->text - n, "%zu:%s ", rec->modifier,
                 ms_hook_name(rec->hook));
}

typedef struct fixture {
    ms_recipe *recipe;
    ms_lifecycle *lc;
    hook_log log;
    ms_sink sink;
    ms_raise raised;
} fixture;

/* A lifecycle following `profile`, not yet initialized; one at a time. */
static fixture *fixture_make(const char *recipe_text, ms_upstream profile, bool with_event)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    f.log.with_event = with_event;
    ms_diag diag;
    ms_modifier **mods;
    size_t n;
    assert_int_equal(
        ms_recipe_parse(recipe_text, strlen(recipe_text), "t.yaml", 0, 0, NULL, &f.recipe, &diag),
        MS_OK);
    assert_int_equal(ms_recipe_build_modifiers(f.recipe, &mods, &n, &diag), MS_OK);
    assert_int_equal(ms_lifecycle_new(mods, n, &f.lc), MS_OK);
    ms_lifecycle_set_upstream(f.lc, profile);
    f.sink = (ms_sink){.emit = log_hook, .user = &f.log};
    ms_lifecycle_set_sink(f.lc, &f.sink);
    return &f;
}

static void done(fixture *f)
{
    ms_lifecycle_free(f->lc);
    ms_recipe_free(f->recipe);
}

#endif
