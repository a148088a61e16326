/* Inside the terminal UI: what every screen shares (the session, the
 * recipe and its draft, the selection, the message line, the screen, the
 * jobs) and the app's operations. Each screen's own state is private to it
 * (view.h). Not installed; the benchmark and the UI tests use it to drive
 * the app without a terminal. */
#ifndef MS_UI_APP_H
#define MS_UI_APP_H

#include <curses.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "recipe/recipe.h"
#include "recipe/schema.h"
#include "draft/draft.h"
#include "scenario/scenario.h"
#include "draw.h"
#include "sim/pipeline.h"
#include "world/world_model.h"
#include "sim/sim.h"
#include "view.h"
#include "worker.h"

/* What the message line is asking for, keys going to it until answered. */
typedef enum {
    PROMPT_NONE,
    PROMPT_BREAK_INDEX,
    PROMPT_SAVE_PATH,
    PROMPT_QUIT,
    PROMPT_GOTO,  /* a call number */
    PROMPT_SEARCH /* text in modifier names */
} prompt_kind;

/* A long simulation in progress: an exploration that returns to where the
 * user was, or a user's run. */
typedef enum { JOB_NONE, JOB_EXPLORE, JOB_RUN } job_kind;

struct app {
    /* the model */
    char source[512]; /* what was opened, as shown */
    /* how it was opened, so R can open it again */
    char open_path[512]; /* "" for the bundled demo */
    char open_stage[256];
    ms_pipeline_request open_run;
    bool open_run_given, open_stage_given;
    ms_recipe *recipe; /* owned when opened as a recipe */
    ms_scenario *scenario;
    const ms_recipe *rec; /* the recipe in use, NULL when loading failed */
    bool load_failed;
    ms_diag load_diag;
    char diag_line[256]; /* the source line the diagnostic points at */
    ms_pipeline_config cfg;
    bool intended_loop;  /* the intended index added the training loop cfg has */
    bool fixed_calls;    /* a scenario's calls: the pipeline keys do not apply */
    char read_only[160]; /* why the Schedule cannot edit ("" when it can, or nothing loaded) */
    ms_sim *sim;
    /* selections shared by the screens */
    size_t selected;   /* modifier */
    size_t call_sel;   /* call: selected by a Timeline click, explained by Explain */
    bool call_follows; /* the selected call is the last one run */
    int hook_break;    /* the hook of the hook breakpoint, -1 for none */
    /* jobs: while the worker holds one (ui_worker_busy), the session is the
     * worker's; the main thread reads only what the job publishes */
    job_kind job;
    ms_goal run_goal;      /* what the last run was asked to reach */
    size_t explore_return; /* where an exploration leaves the position */
    ui_worker worker;
    ms_sim_stop job_stop;                       /* the job's last slice, the worker's */
    atomic_size_t job_pos, job_done, job_total; /* published after every slice */
    /* the screens: the one shown and the private state of each */
    view_id view;
    view_id before_help; /* where q or Esc on Help goes back to */
    void *state[VIEW_COUNT];
    bool utf8, color;
    attr_t attrs[ROLE_COUNT];
    int rows, cols;
    bool too_small;
    WINDOW *w_tabs, *w_body, *w_msg, *w_status;
    unsigned dirty;            /* DIRTY_* */
    int tab_x[VIEW_COUNT + 1]; /* where each tab starts, for clicks */
    char message[512];
    bool message_error;
    int message_rows; /* a long message wraps into the body's last rows: how many it took */
    prompt_kind prompting;
    char prompt[512];
    char last_search[128]; /* `/` then Enter alone searches it again */
    /* editing (recipes only; NULL for scenarios and files that did not load) */
    ms_schema *schema;
    ms_draft *draft;
    bool sim_stale;      /* the schedule has errors: the session is of the last good one */
    char kept_note[256]; /* where a rebuilt session kept the position, and what moved there */
    char save_path[512]; /* what `w` offers */
    /* the Schedule shows a modifier's form (its keys are MS_SCOPE_FORM); the
     * form itself is the Schedule's state (schedule.h) */
    bool form_open;
    /* a value being typed: like the prompt, keys go into it before the keymap */
    bool editing;      /* keys go into `edit` */
    char edit[512];    /* the value being typed */
    ms_diag edit_diag; /* what is wrong with it; code empty when nothing */
    int body_rows, body_cols;
    /* the model the run acts on (app_model.c, model_track.h) */
    char model_arg[512]; /* --model as given; "" for tiny, "none" for none */
    /* --calib, --calib-tokens, --threads, --seed as given (the calibration
     * path is argv's); world_set false: the defaults */
    ms_world_model_config world;
    bool world_set;
    struct ui_model *model;
    char model_error[320];  /* why there is no model */
    bool model_layers_set;  /* the run took the model's layer count */
    long long model_layers; /* the model's decoder layers; 0 until it opened */
    /* the history (view_history.c): the file, the recorder of this
     * session's runs (NULL: not recorded), the run replayed (0: none) */
    char history_path[1024];
    struct ms_history_recorder *recorder;
    long long replayed_run;
};

enum { DIRTY_TABS = 1, DIRTY_BODY = 2, DIRTY_MSG = 4, DIRTY_STATUS = 8, DIRTY_ALL = 15 };

/* The smallest screen the UI draws; below, it says the terminal is too small. */
#define UI_MIN_COLS 40
#define UI_MIN_ROWS 10

/* ---- the app without a terminal loop (app.c) ---- */

/* Opens `path` (NULL: the bundled demo) into `a`. A file that cannot be
 * loaded leaves `a` usable, with the diagnostic in a->load_diag. */
void app_open(app *a, const char *path);
/* The same, a recipe run as `run` asks (NULL: the default run). */
void app_open_run(app *a, const char *path, const ms_pipeline_request *run, const char *stage);
/* Closes the session and opens `path` (NULL: the demo) in its place, keeping
 * the terminal set-up and the model argument. Every screen's state is made
 * anew: a screen calling this must not touch its old state after. */
void app_reopen(app *a, const char *path, const ms_pipeline_request *run, const char *stage);
/* The same with the scenario `text` (not a file: `name` is what messages
 * call it, and R has nothing to read again). */
void app_reopen_scenario_text(app *a, const char *name, const char *text, size_t len);
void app_close(app *a);
/* After initscr/newterm: windows, colours, glyphs, sized to the screen. */
void app_screen_init(app *a);
void app_screen_resize(app *a);
/* One key (curses code or character). */
/* Ctrl-C (SIGINT): quits as `q` does, so unsaved edits are asked about. */
ui_result app_interrupt(app *a);

ui_result app_key(app *a, int key, bool is_function_key);
void app_mouse(app *a, int y, int x);
/* Hands the current job to the worker and waits for it at most `ms`
 * milliseconds; true when no job is left. */
bool app_work(app *a, double ms);
/* Draws what is dirty and updates the screen. */
void app_render(app *a);

/* ---- shared by the views ---- */

void app_message(app *a, bool error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Starts a simulation run (cancelling an exploration first). */
void app_run(app *a, ms_goal goal, size_t target);
/* Rebuilds the session after a pipeline change. */
void app_rebuild(app *a);
/* The modifier's display name: "0 MagnitudePruningModifier". */
const char *app_modifier_type(const app *a, size_t m);
void app_select(app *a, size_t m);
/* Shows the screen `ops`. */
void app_show(app *a, const view_ops *ops);
/* The key scope in effect: the screen's, or what its `scope` op says. */
ms_scope app_scope(const app *a);
/* After an edit of the schedule: re-simulates it when it has no errors,
 * selects modifier `m`, redraws and reports `done` (with the errors, if any). */
void app_schedule_changed(app *a, size_t m, const char *done);
/* Saves the schedule to `path`; false (with the reason shown) on failure. */
bool app_save(app *a, const char *path);
/* ---- the history (view_history.c) ---- */

/* Queues the session's run for the recorder, its parent the run before. */
void app_record_session(app *a);
/* Opens run `id` of the history as the session (its scenario, re-simulated
 * by this modsim), stopped at the first call where today's modsim disagrees
 * with the record, the message line saying which; false (the message says
 * why) when it cannot be replayed, the session left as it was. */
bool app_replay(app *a, long long id);

/* ---- the model track (app_model.c) ---- */

/* --model, else a scenario's `model:` key, else "tiny". */
const char *app_model_name(const app *a);
/* A track for the new session (or model_error says why there is none). */
void app_model_session(app *a);
void app_model_close(app *a);
/* The model goes where the session is, on its worker. */
void app_model_follow(app *a);
/* The layers a clock fitted to the run takes: the model's, else the default. */
long long app_model_fitted_layers(const app *a);
/* Esc: cancels the model's step when one runs (true). */
bool app_model_cancel(app *a);
/* Finishes what the model's worker is done with, waiting at most `ms`;
 * true when it holds no job. */
bool app_model_work(app *a, double ms);
/* The message line while the model works; false when it does not. */
bool app_model_progress(const app *a, char *buf, size_t cap);

/* The text of the bundled demo recipe (generated from samples/recipes/demo.yaml). */
extern const char ms_demo_recipe[];

#endif
