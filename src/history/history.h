/* The history of runs: a SQLite file that keeps every recorded run (its
 * settings, the recipe text once per content hash, and per call the call,
 * its hooks, flag transitions, errors and metrics), and the questions asked
 * of it (list, show, diff, export, rm, gc).
 *
 * The file is in WAL mode with a busy timeout, so readers never block the
 * writer and two writers wait for each other instead of failing; a run's
 * records are written in batched transactions, so a run killed midway keeps
 * every batch it committed. The schema is versioned with PRAGMA user_version
 * and migrated forward on open; a file from a newer modsim is refused, not
 * touched. */
#ifndef MS_HISTORY_H
#define MS_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/lifecycle.h"
#include "../core/record.h"
#include "../util/status.h"

/* The schema version this modsim writes (PRAGMA user_version). */
#define MS_HISTORY_SCHEMA 5

typedef struct ms_history ms_history;

typedef enum {
    MS_HISTORY_RUNNING,
    MS_HISTORY_COMPLETED,
    MS_HISTORY_FAILED,
    MS_HISTORY_INTERRUPTED,
    MS_HISTORY_CANCELLED
} ms_history_status;

/* "running", "completed", ... as the file stores them. */
const char *ms_history_status_name(ms_history_status status);
bool ms_history_status_parse(const char *name, ms_history_status *out);

/* The file runs are recorded to when none is named: $MODSIM_HISTORY, else
 * $XDG_STATE_HOME/modsim/history.db, else ~/.local/state/modsim/history.db.
 * False when none can be told (no HOME) or it does not fit `cap`. */
bool ms_history_default_path(char *buf, size_t cap);

/* Opens (creating it and its folder when `create`) the history at `path`;
 * ":memory:" is a private in-memory history. A file that is not a history,
 * is from a newer schema or cannot be written is refused with `diag` naming
 * the file and what to do. */
ms_status ms_history_open(const char *path, bool create, ms_history **out, ms_diag *diag);
void ms_history_close(ms_history *h);

/* What a run is, as recorded; NULL strings and zero numbers are unknown. */
typedef struct ms_history_settings {
    const char *modsim_version;
    const char *profile;      /* upstream profile, "0.12" */
    const char *recipe_text;  /* the recipe as the user wrote it */
    const char *recipe_path;  /* the file the run was made from */
    const char *stage;        /* NULL: every stage */
    const char *pipeline;     /* "independent", ... or "scenario" */
    const char *clock;        /* what the run is, in words (ms_pipeline_describe) */
    const char *model;        /* model spec or checkpoint path */
    const char *weights_hash; /* of the checkpoint */
    const char *calibration;  /* calibration data description */
    bool has_seed;
    long long seed;
    int threads;
    long long parent; /* the run this one was edited from; 0: none */
    /* What `history export --format scenario` needs to write the run again:
     * the recipe in upstream layout and the scenario header. */
    const char *replay_recipe;
    bool index_upstream; /* events carry only their type (index 0) */
    long long steps_per_epoch;
    long long batches_per_step;
    bool calibration_data;
} ms_history_settings;

/* A run being recorded. */
typedef struct ms_history_run ms_history_run;

/* Starts recording a run over `lc`'s modifiers: visible as running from now
 * on (with this process id, so a run whose process died shows as
 * interrupted). */
ms_status ms_history_run_begin(ms_history *h, const ms_history_settings *s, const ms_lifecycle *lc,
                               ms_history_run **out, ms_diag *diag);
/* The sink recording the run's records (kept by pointer). A write that
 * fails stops the recording; ms_history_run_end then says why. */
ms_sink ms_history_run_sink(ms_history_run *run);
long long ms_history_run_id(const ms_history_run *run);
/* Each transition keeps `hash(user)` (the weights' checksum after the call
 * that made it, computed once per such call); without it, none. */
void ms_history_run_set_weights_hash(ms_history_run *run, uint64_t (*hash)(const void *user),
                                     const void *user);

/* One Linear module of the model after the run, as the history keeps it. */
typedef struct ms_history_module {
    const char *name, *class_name;
    int owner;        /* the modifier that last changed its weight, -1 for none */
    double sparsity;  /* fraction of exact zeros */
    int bits;         /* 0: not quantized */
    double rel_error; /* ||W - W0|| / ||W0|| */
    const char *note; /* why a modifier left it alone, or NULL */
    const char *act;  /* its activation quantization ("8/tok"), or NULL for none */
} ms_history_module;

/* The run's final per-module table and a model-level figure ("perplexity",
 * "kl", ...); written at once, in one transaction each. */
ms_status ms_history_run_modules(ms_history_run *run, const ms_history_module *rows, size_t n,
                                 ms_diag *diag);
ms_status ms_history_run_figure(ms_history_run *run, const char *name, double value, ms_diag *diag);
/* Writes what is left and the final status, and frees `run`. MS_OK unless
 * some write of the run failed (then `diag` says which and why). */
ms_status ms_history_run_end(ms_history_run *run, ms_history_status status, ms_diag *diag);

/* Which runs `history list` shows, newest first. */
typedef struct ms_history_filter {
    const char *recipe; /* substring of the recipe path; NULL: any */
    bool has_status;
    ms_history_status status;
    long long limit; /* 0: all */
} ms_history_filter;

/* One line per run (or one JSON object per line when `json`). */
ms_status ms_history_list(ms_history *h, const ms_history_filter *f, bool json, FILE *out,
                          ms_diag *diag);
/* The run's settings, its transitions in order (with the weights' checksum
 * after each), errors, the final flags of each modifier and the final
 * per-module table and figures. MS_ERR_INVALID when there is no such run. */
ms_status ms_history_show(ms_history *h, long long id, FILE *out, ms_diag *diag);
/* What differs between runs `a` and `b` (the first diverging call, the
 * transitions that moved, hooks in one run only, per-module and model-level
 * metric deltas, the recipe); *differs tells whether anything did. */
ms_status ms_history_diff(ms_history *h, long long a, long long b, FILE *out, bool *differs,
                          ms_diag *diag);
/* Runs the run's calls again with today's modsim (the lifecycle, not a
 * model's work) and compares what happens with what was recorded: the first
 * call where they disagree (*first) and the transitions that moved, to
 * `out` (NULL: nothing). *agrees when every call matches. */
ms_status ms_history_check(ms_history *h, long long id, FILE *out, bool *agrees, size_t *first,
                           ms_diag *diag);
/* The recorded records as JSON Lines. */
ms_status ms_history_export_jsonl(ms_history *h, long long id, FILE *out, ms_diag *diag);
/* A scenario that `modsim trace` runs to the same trace as the run. */
ms_status ms_history_export_scenario(ms_history *h, long long id, FILE *out, ms_diag *diag);
/* Deletes a run and everything recorded of it; recipes no run uses go too. */
ms_status ms_history_rm(ms_history *h, long long id, ms_diag *diag);
/* Deletes all but the newest `keep` runs, and of those only the runs older
 * than `older_than_s` seconds when it is > 0; *removed counts them. */
ms_status ms_history_gc(ms_history *h, long long keep, long long older_than_s, size_t *removed,
                        ms_diag *diag);

#endif
