/* The model the terminal UI steps: the model-backed world (src/world/) run
 * over the session's calls, following the session's position. Each call
 * runs on its own worker thread (one call, a layer's GPTQ, can take a
 * while), so the UI keeps drawing; a step back restores the snapshot of that
 * position (src/world/snapshot.h). After each move the worker measures the
 * model for the Model screen: the per-module rows, each Linear's output
 * error, the model against the uncompressed one, the weights' checksum.
 *
 * Threads: from ui_model_seek until ui_model_poll returns true the track's
 * world is the worker's; the main thread reads only the last report (which
 * the worker never touches) and ui_model_progress. No curses here. */
#ifndef MS_UI_MODEL_TRACK_H
#define MS_UI_MODEL_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/call.h"
#include "recipe/recipe.h"
#include "sim/pipeline.h"
#include "world/size.h"
#include "world/world_model.h"

typedef struct ui_model ui_model;

/* Rows and columns of the mask picture: the weight's top-left corner, one
 * character per value, so an N:M pattern shows. */
#define UI_MASK_ROWS 8
#define UI_MASK_COLS 48
#define UI_HIST_BINS 10

/* One Linear module as the Model screen shows it. */
typedef struct ui_model_row {
    size_t module; /* index in the model */
    const char *name, *class_name;
    int owner;        /* the modifier that last changed its weight, -1 for none */
    double sparsity;  /* fraction of exact zeros */
    int bits;         /* 0 when not quantized */
    double rel_error; /* weight against the uncompressed one */
    double out_error; /* output on the calibration tokens against the uncompressed
                       * model's; NAN when not measured */
    char *note;       /* why a modifier left it alone, or NULL */
    char act[32];     /* activation quantization in the evaluation forward, as the run
                       * table's act column ("-": none) */
    size_t shape[2];
    char mask[UI_MASK_ROWS][UI_MASK_COLS + 1]; /* '#' kept, '.' zero; rows of the corner */
    /* quantized: the step (scale) of each group, recovered from the weight
     * as its smallest non-zero |value| */
    size_t hist[UI_HIST_BINS];
    double hist_lo, hist_hi; /* the bins split [lo, hi] evenly */
    size_t groups;           /* 0: no histogram */
} ui_model_row;

/* The model at one position, measured after the worker reached it. */
typedef struct ui_model_report {
    bool valid;
    size_t pos; /* calls run */
    ui_model_row *rows;
    size_t nrows;
    bool figures;       /* metrics and out_error measured (ui_model_want_figures) */
    ms_world_size size; /* as compressed-tensors would store it */
    bool has_size;
    ms_world_metrics metrics;
    uint64_t checksum;     /* of all weights now */
    uint64_t first;        /* recorded when `pos` was first reached */
    bool back;             /* reached by a step back (first is from earlier) */
    size_t snapshot_bytes; /* what the snapshots hold */
    char error[320];       /* a call or a measure failed: the track stops */
} ui_model_report;

/* What a job the worker holds is doing, readable while it does. */
typedef struct ui_model_progress {
    bool busy;
    size_t pos, target; /* calls run; where the job goes */
    size_t changed;     /* modules the running call changed so far */
    const char *module; /* the last of them, or NULL */
    bool measuring;     /* the calls are done: measuring the model */
    bool cancelling;
    double seconds; /* since the job began */
} ui_model_progress;

/* Opens `model` (tiny, small, a spec YAML, a checkpoint directory) for a
 * run of `recipe` over `calls` (copied), each modifier calibrated as `cfg`
 * says (NULL: a scenario's calls), the lifecycle as `upstream` runs it.
 * `diag` says why it cannot (the model, the recipe's arguments). */
/* `wcfg` (NULL: ms_world_model_defaults) gives the calibration tokens and
 * threads, as modsim run's --calib, --calib-tokens and --threads do. */
ms_status ui_model_new(const char *model, const ms_recipe *recipe, const ms_pipeline_config *cfg,
                       ms_upstream upstream, bool calibration_data, const ms_call *calls, size_t n,
                       const ms_world_model_config *wcfg, ui_model **out, ms_diag *diag);
/* Takes the job back (the world stops at its next module) and frees the
 * track. */
void ui_model_free(ui_model *m);
/* Sets the worker's wake-up descriptor (ui/worker.h). */
void ui_model_set_wake(ui_model *m, int fd);

/* The decoder layers of the model. */
long long ui_model_layers(const ui_model *m);

/* Moves the model to position `target` (0..calls), on the worker. A job in
 * progress goes on to the new target. */
void ui_model_seek(ui_model *m, size_t target);
/* Whether the reports measure the costly figures (the output errors, the
 * model against the uncompressed one: four forward passes); the Model
 * screen wants them while it is shown. */
void ui_model_want_figures(ui_model *m, bool want);
/* Ends the job: once the running call returns, the model goes back to where
 * the job began (the weights as they were), then it is measured. */
void ui_model_cancel(ui_model *m);
/* Finishes a job the worker is done with; true when a new report came
 * (ui_model_report). Main thread. */
bool ui_model_poll(ui_model *m);
/* Waits at most `ms` for the job, then polls. */
bool ui_model_wait(ui_model *m, double ms);
bool ui_model_busy(const ui_model *m);
void ui_model_progress_get(const ui_model *m, ui_model_progress *out);
/* The last report (valid false before the first one). */
const ui_model_report *ui_model_last(const ui_model *m);
/* Where the job that was cancelled began, so the session goes back there;
 * false when the last job was not cancelled. Clears it. */
bool ui_model_cancelled_to(ui_model *m, size_t *pos);

/* ---- the Model screen's order (curses-free, so it is unit tested) ---- */

typedef enum {
    UI_SORT_MODULE, /* model order */
    UI_SORT_SPARSITY,
    UI_SORT_BITS,
    UI_SORT_ERROR,  /* relative weight error */
    UI_SORT_OUTPUT, /* output error */
    UI_SORT_OWNER,
    UI_SORT_COUNT
} ui_model_sort;

const char *ui_model_sort_name(ui_model_sort s);

/* The rows to show: those whose name, class or owner's type contains
 * `filter` (ignoring case; "" for all), sorted by `sort` (largest first for
 * the figures, ties in model order; `reverse` flips). `owner_type(m)` names
 * modifier m. Writes row indices into `out` (nrows of room); returns how
 * many. */
size_t ui_model_order(const ui_model_report *r, ui_model_sort sort, bool reverse,
                      const char *filter, const char *(*owner_type)(void *user, int modifier),
                      void *user, size_t *out);

/* The mean measured sparsity of the modules modifier `modifier` changed
 * last; false when it changed none. */
bool ui_model_measured_sparsity(const ui_model_report *r, int modifier, double *out);

/* Fills the mask picture and the step histogram of `row` from its weight
 * `w` (shape[0] x shape[1]); `group` values share a step (the scheme's
 * group; shape[1] for a channel scheme; 0: not quantized). */
void ui_model_row_detail(ui_model_row *row, const float *w, size_t group);

#endif
