#include "model_track.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/lifecycle.h"
#include "world/inspect.h"
#include "world/size.h"
#include "world/snapshot.h"
#include "worker.h"

struct ui_model {
    ms_world_model *wm;
    ms_world_snapshots *snaps;
    ms_lifecycle *lc;
    size_t lc_size;
    unsigned char *lc_states; /* per recorded position */
    size_t lc_cap;            /* positions lc_states has room for */
    ms_call *calls;
    size_t n;
    ms_sink sink;
    ui_worker worker;
    int wake; /* the worker's wake-up descriptor, main thread's copy */
    /* the worker's; the main thread reads the atomics only */
    size_t cur;     /* calls run */
    size_t start;   /* where the job began */
    bool failed;    /* a call or a measure failed: no more calls */
    bool cancelled; /* the job was cancelled (it went back to `start`) */
    bool reached_by_back;
    atomic_size_t pos, target, changed, last_module; /* last_module: index + 1, 0 for none */
    atomic_bool cancel, measuring, want_figures;
    double began; /* main thread */
    ui_model_report shown, next;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A module a call changed (the world's METRIC record): the progress line. */
static void on_record(void *user, const ms_record *rec)
{
    ui_model *m = user;
    size_t i;
    if (rec->kind != MS_REC_METRIC || !rec->module ||
        !ms_model_find(ms_world_model_model(m->wm), rec->module, &i))
        return;
    atomic_fetch_add(&m->changed, 1);
    atomic_store(&m->last_module, i + 1);
}

static void free_report(ui_model_report *r)
{
    for (size_t i = 0; i < r->nrows; i++)
        free(r->rows[i].note);
    free(r->rows);
    memset(r, 0, sizeof *r);
}

/* What each modifier's sequential_epoch_ends cover, as `modsim run` sets
 * it (src/cli/run_world.c): the pipeline, or per modifier as upstream infers
 * it; a scenario's calls (cfg NULL) cover the whole model. */
static void set_calibration(ms_world_model *wm, const ms_recipe *recipe,
                            const ms_pipeline_config *cfg)
{
    for (size_t i = 0; i < ms_recipe_count(recipe); i++) {
        ms_pipeline p = !cfg ? MS_PIPELINE_BASIC
                        : cfg->calibration == MS_PIPELINE_INDEPENDENT
                            ? ms_pipeline_infer(ms_recipe_entry_at(recipe, i), cfg->upstream)
                            : cfg->calibration;
        ms_world_model_set_calibration(wm, i,
                                       p == MS_PIPELINE_BASIC      ? MS_WORLD_WHOLE
                                       : p == MS_PIPELINE_DATAFREE ? MS_WORLD_NO_DATA
                                                                   : MS_WORLD_LAYERWISE);
    }
}

ms_status ui_model_new(const char *model, const ms_recipe *recipe, const ms_pipeline_config *cfg,
                       ms_upstream upstream, bool calibration_data, const ms_call *calls, size_t n,
                       const ms_world_model_config *given, ui_model **out, ms_diag *diag)
{
    *out = NULL;
    ui_model *m = calloc(1, sizeof *m);
    if (!m)
        return MS_ERR_NOMEM;
    ms_world_model_config wcfg = given ? *given : ms_world_model_defaults();
    ms_model *opened = NULL;
    ms_status st = ms_model_open(model, &opened, diag);
    if (st == MS_OK)
        st = ms_world_model_new(opened, recipe, &wcfg, &m->wm, diag);
    if (st == MS_OK)
        set_calibration(m->wm, recipe, cfg);
    if (st == MS_OK)
        st = ms_recipe_build_lifecycle(recipe, &m->lc, diag);
    if (st == MS_OK)
        st = ms_lifecycle_set_world(m->lc, ms_world_model_world(m->wm));
    if (st == MS_OK) {
        ms_lifecycle_set_upstream(m->lc, upstream);
        ms_lifecycle_set_calibration_data(m->lc, calibration_data);
        m->n = n;
        m->calls = malloc((n ? n : 1) * sizeof *m->calls);
        m->lc_size = ms_lifecycle_snapshot_size(m->lc);
        m->lc_cap = 64;
        m->lc_states = malloc(m->lc_cap * (m->lc_size ? m->lc_size : 1));
        st = m->calls && m->lc_states ? MS_OK : MS_ERR_NOMEM;
    }
    if (st == MS_OK) {
        memcpy(m->calls, calls, n * sizeof *calls);
        ms_lifecycle_snapshot_save(m->lc, m->lc_states);
        st = ms_world_snapshots_new(m->wm, &m->snaps, diag);
    }
    if (st == MS_OK && !ui_worker_init(&m->worker, -1))
        st = MS_ERR_NOMEM;
    if (st != MS_OK) {
        ui_model_free(m);
        return st;
    }
    m->wake = -1;
    ms_world_model_set_stop(m->wm, &m->cancel);
    m->sink = (ms_sink){.emit = on_record, .user = m, .skips_on_event = true};
    ms_world_model_set_sink(m->wm, &m->sink);
    *out = m;
    return MS_OK;
}

void ui_model_free(ui_model *m)
{
    if (!m)
        return;
    /* the world stops at its next module rather than finish the call */
    atomic_store(&m->cancel, true);
    if (m->worker.usable)
        ui_worker_free(&m->worker);
    free_report(&m->shown);
    free_report(&m->next);
    ms_world_snapshots_free(m->snaps);
    ms_lifecycle_free(m->lc);
    ms_world_model_free(m->wm);
    free(m->lc_states);
    free(m->calls);
    free(m);
}

void ui_model_set_wake(ui_model *m, int fd)
{
    if (m->wake != fd)
        ui_worker_set_wake(&m->worker, fd);
    m->wake = fd;
}

long long ui_model_layers(const ui_model *m)
{
    return ms_model_get_spec(ms_world_model_model(m->wm))->num_layers;
}

/* ---- on the worker ---- */

static void fail_text(ui_model *m, const char *what, ms_status st, const ms_diag *d)
{
    m->failed = true;
    snprintf(m->next.error, sizeof m->next.error, "%s: %.250s", what,
             d && d->message[0] ? d->message : ms_status_str(st));
}

static void go_back(ui_model *m, size_t target);

/* Runs call `cur` and records the position after it. */
static void run_call(ui_model *m)
{
    ms_diag d;
    ms_diag_clear(&d);
    ms_raise raised;
    ms_world_model_set_call(m->wm, m->cur);
    atomic_store(&m->changed, 0);
    atomic_store(&m->last_module, 0);
    size_t writes = ms_world_model_changes(m->wm);
    ms_call_run(&m->calls[m->cur], m->lc, &raised); /* what it raises, the session shows */
    if (atomic_load(&m->cancel)) {
        /* Esc stopped the world mid-call: back to before it, unrecorded */
        go_back(m, m->cur);
        return;
    }
    ms_status st = ms_world_model_error(m->wm, &d);
    if (st != MS_OK) {
        fail_text(m, "the world failed", st, &d);
        return;
    }
    size_t pos = m->cur + 1;
    if (pos >= m->lc_cap) {
        size_t cap = 2 * m->lc_cap;
        unsigned char *p = realloc(m->lc_states, cap * (m->lc_size ? m->lc_size : 1));
        if (!p) {
            fail_text(m, "out of memory keeping the lifecycle", MS_ERR_NOMEM, NULL);
            return;
        }
        m->lc_states = p;
        m->lc_cap = cap;
    }
    /* the world counts every weight it writes: without one, no weight moved */
    st = ms_world_model_changes(m->wm) != writes ? ms_world_snapshots_push(m->snaps, &d)
                                                 : ms_world_snapshots_push_unchanged(m->snaps, &d);
    if (st != MS_OK) {
        fail_text(m, "cannot keep the snapshot", st, &d);
        return;
    }
    ms_lifecycle_snapshot_save(m->lc, m->lc_states + pos * m->lc_size);
    m->cur = pos;
    m->reached_by_back = false;
    atomic_store(&m->pos, pos);
}

static void go_back(ui_model *m, size_t target)
{
    ms_diag d;
    ms_diag_clear(&d);
    ms_status st = ms_world_snapshots_restore(m->snaps, target, &d);
    if (st != MS_OK) {
        fail_text(m, "cannot restore the snapshot", st, &d);
        return;
    }
    ms_lifecycle_snapshot_restore(m->lc, m->lc_states + target * m->lc_size);
    m->cur = target;
    m->reached_by_back = true;
    atomic_store(&m->pos, target);
}

static size_t group_of(const ms_quant_args *q, size_t cols)
{
    if (!q)
        return 0;
    switch (q->strategy) {
    case MS_QUANT_GROUP:
        return q->group_size && cols % q->group_size == 0 ? q->group_size : cols;
    case MS_QUANT_BLOCK:
        return q->block_structure[1] && cols % q->block_structure[1] == 0 ? q->block_structure[1]
                                                                          : cols;
    default:
        return cols;
    }
}

/* The report of the position reached. */
static void measure(ui_model *m)
{
    ui_model_report *r = &m->next;
    char error[sizeof r->error];
    snprintf(error, sizeof error, "%s", r->error);
    free_report(r);
    snprintf(r->error, sizeof r->error, "%s", error);
    r->pos = m->cur;
    r->back = m->reached_by_back;
    r->snapshot_bytes = ms_world_snapshots_bytes(m->snaps);
    r->checksum = ms_world_model_checksum(m->wm);
    ms_world_snapshots_first_checksum(m->snaps, m->cur, &r->first);
    ms_diag d;
    ms_diag_clear(&d);
    ms_world_module_row *rows = NULL;
    size_t n = 0;
    const ms_model *model = ms_world_model_model(m->wm);
    size_t nm = ms_model_module_count(model);
    double *out_err = malloc((nm ? nm : 1) * sizeof *out_err);
    ms_status st = out_err ? ms_world_model_rows(m->wm, &rows, &n, &d) : MS_ERR_NOMEM;
    /* the forwards over the calibration and held-out tokens cost the most:
     * only while the Model screen shows them */
    r->figures = atomic_load(&m->want_figures);
    r->has_size = st == MS_OK && ms_world_model_size(m->wm, &r->size, &d) == MS_OK;
    for (size_t i = 0; out_err && i < nm; i++)
        out_err[i] = NAN;
    if (st == MS_OK && r->figures)
        st = ms_world_model_output_errors(m->wm, out_err, &d);
    if (st == MS_OK && r->figures)
        st = ms_world_model_evaluate(m->wm, &r->metrics, &d);
    r->rows = st == MS_OK ? calloc(n ? n : 1, sizeof *r->rows) : NULL;
    float *w = NULL;
    if (r->rows) {
        size_t max = 1;
        for (size_t i = 0; i < nm; i++) {
            size_t k = ms_module_numel(ms_model_module(model, i));
            max = k > max ? k : max;
        }
        w = malloc(max * sizeof *w);
    }
    if (st == MS_OK && (!r->rows || !w))
        st = MS_ERR_NOMEM;
    for (size_t i = 0, k = 0; st == MS_OK && i < nm && k < n; i++) {
        const ms_module *mod = ms_model_module(model, i);
        if (mod->kind != MS_MOD_LINEAR)
            continue;
        ui_model_row *row = &r->rows[k];
        const ms_world_module_row *src = &rows[k++];
        *row = (ui_model_row){.module = i,
                              .name = src->name,
                              .class_name = src->class_name,
                              .owner = src->owner,
                              .sparsity = src->sparsity,
                              .bits = src->bits,
                              .rel_error = src->rel_error,
                              .out_error = out_err[i],
                              .note = src->note ? strdup(src->note) : NULL,
                              .shape = {mod->shape[0], mod->shape[1]}};
        snprintf(row->act, sizeof row->act, "%s", src->act);
        r->nrows = k;
        ms_model_weight_read(model, i, w);
        ui_model_row_detail(
            row, w, row->bits ? group_of(ms_world_model_quant(m->wm, i), mod->shape[1]) : 0);
    }
    free(w);
    free(rows);
    free(out_err);
    if (st != MS_OK) {
        free_report(r);
        fail_text(m, "measuring the model failed", st, &d);
        r->pos = m->cur;
    }
    r->valid = true;
}

static bool slice(void *arg)
{
    ui_model *m = arg;
    if (atomic_exchange(&m->cancel, false)) {
        atomic_store(&m->target, m->start);
        m->cancelled = true;
    }
    size_t target = atomic_load(&m->target);
    if (!m->failed && m->cur < target) {
        atomic_store(&m->measuring, false);
        run_call(m);
        return false;
    }
    if (!m->failed && m->cur > target) {
        go_back(m, target);
        return false;
    }
    atomic_store(&m->measuring, true);
    measure(m);
    atomic_store(&m->measuring, false);
    /* a new target (or Esc) while measuring: on to it */
    return m->failed || (atomic_load(&m->target) == m->cur && !atomic_load(&m->cancel));
}

/* ---- on the main thread ---- */

static void give(ui_model *m)
{
    m->start = m->cur;
    m->began = now_s();
    atomic_store(&m->changed, 0);
    atomic_store(&m->last_module, 0);
    if (ui_worker_give(&m->worker, slice, m))
        return;
    /* no thread: the job runs here */
    while (!slice(m))
        ;
}

void ui_model_seek(ui_model *m, size_t target)
{
    atomic_store(&m->target, target > m->n ? m->n : target);
    bool stale = !m->shown.valid || m->shown.pos != m->cur ||
                 (atomic_load(&m->want_figures) && !m->shown.figures);
    if (!ui_model_busy(m) && (stale || m->cur != target))
        give(m);
}

void ui_model_want_figures(ui_model *m, bool want)
{
    atomic_store(&m->want_figures, want);
}

void ui_model_cancel(ui_model *m)
{
    if (ui_model_busy(m))
        atomic_store(&m->cancel, true);
}

bool ui_model_busy(const ui_model *m)
{
    return ui_worker_busy(&m->worker);
}

static bool finished(ui_model *m)
{
    free_report(&m->shown);
    m->shown = m->next;
    memset(&m->next, 0, sizeof m->next);
    if (m->failed)
        snprintf(m->next.error, sizeof m->next.error, "%s", m->shown.error);
    return true;
}

bool ui_model_poll(ui_model *m)
{
    return ui_model_wait(m, 0);
}

bool ui_model_wait(ui_model *m, double ms)
{
    if (!ui_model_busy(m)) {
        if (m->next.valid)
            return finished(m); /* a job that ran on this thread */
        return false;
    }
    if (!ui_worker_wait(&m->worker, ms))
        return false;
    finished(m);
    /* the target moved after the last slice looked at it */
    if (!m->failed && atomic_load(&m->target) != m->cur)
        give(m);
    return true;
}

void ui_model_progress_get(const ui_model *m, ui_model_progress *out)
{
    size_t last = atomic_load(&m->last_module);
    *out = (ui_model_progress){
        .busy = ui_model_busy(m),
        .pos = atomic_load(&m->pos),
        .target = atomic_load(&m->target),
        .changed = atomic_load(&m->changed),
        .module = last ? ms_model_module(ms_world_model_model(m->wm), last - 1)->name : NULL,
        .measuring = atomic_load(&m->measuring),
        .cancelling = atomic_load(&m->cancel),
        .seconds = now_s() - m->began,
    };
}

const ui_model_report *ui_model_last(const ui_model *m)
{
    return &m->shown;
}

bool ui_model_cancelled_to(ui_model *m, size_t *pos)
{
    if (ui_model_busy(m) || !m->cancelled)
        return false;
    m->cancelled = false;
    *pos = m->start;
    return true;
}

/* ---- the Model screen's order ---- */

const char *ui_model_sort_name(ui_model_sort s)
{
    static const char *const names[UI_SORT_COUNT] = {"module",       "sparsity",     "bits",
                                                     "weight error", "output error", "modifier"};
    return (unsigned)s < UI_SORT_COUNT ? names[s] : "";
}

static bool contains_folded(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (!n)
        return true;
    for (; hay && *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return true;
    return false;
}

/* A figure to sort by: NAN (no output error) sorts last. */
static double key_of(const ui_model_row *row, ui_model_sort s)
{
    switch (s) {
    case UI_SORT_SPARSITY:
        return row->sparsity;
    case UI_SORT_BITS:
        return row->bits;
    case UI_SORT_ERROR:
        return row->rel_error;
    case UI_SORT_OUTPUT:
        return row->out_error;
    case UI_SORT_OWNER:
        return -row->owner; /* modifier 0 first, then 1, ...; none last */
    default:
        return -(double)row->module;
    }
}

/* true when row a goes before row b */
static bool before(const ui_model_report *r, size_t a, size_t b, ui_model_sort s, bool reverse)
{
    double ka = key_of(&r->rows[a], s), kb = key_of(&r->rows[b], s);
    if (s == UI_SORT_OWNER) {
        ka = r->rows[a].owner < 0 ? -1e18 : ka;
        kb = r->rows[b].owner < 0 ? -1e18 : kb;
    }
    bool na = isnan(ka), nb = isnan(kb);
    if (na != nb)
        return nb;
    if (!na && ka != kb)
        return reverse ? ka < kb : ka > kb;
    return a < b;
}

size_t ui_model_order(const ui_model_report *r, ui_model_sort sort, bool reverse,
                      const char *filter, const char *(*owner_type)(void *user, int modifier),
                      void *user, size_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nrows; i++) {
        const ui_model_row *row = &r->rows[i];
        const char *owner = row->owner >= 0 && owner_type ? owner_type(user, row->owner) : "";
        if (!contains_folded(row->name, filter) && !contains_folded(row->class_name, filter) &&
            !contains_folded(owner, filter))
            continue;
        /* insertion: a stable sort of at most a few hundred rows */
        size_t at = n++;
        while (at > 0 && before(r, i, out[at - 1], sort, reverse)) {
            out[at] = out[at - 1];
            at--;
        }
        out[at] = i;
    }
    return n;
}

bool ui_model_measured_sparsity(const ui_model_report *r, int modifier, double *out)
{
    double sum = 0;
    size_t n = 0;
    for (size_t i = 0; r->valid && i < r->nrows; i++)
        if (r->rows[i].owner == modifier) {
            sum += r->rows[i].sparsity;
            n++;
        }
    if (!n)
        return false;
    *out = sum / (double)n;
    return true;
}

void ui_model_row_detail(ui_model_row *row, const float *w, size_t group)
{
    size_t rows = row->shape[0], cols = row->shape[1];
    memset(row->mask, 0, sizeof row->mask);
    for (size_t r = 0; r < rows && r < UI_MASK_ROWS; r++)
        for (size_t c = 0; c < cols && c < UI_MASK_COLS; c++)
            row->mask[r][c] = w[r * cols + c] != 0 ? '#' : '.';
    memset(row->hist, 0, sizeof row->hist);
    row->groups = 0;
    if (!group || !cols || cols % group)
        return;
    size_t ngroups = rows * (cols / group);
    double *steps = malloc((ngroups ? ngroups : 1) * sizeof *steps);
    if (!steps)
        return;
    size_t k = 0;
    for (size_t g = 0; g < ngroups; g++) {
        const float *x = w + g * group;
        double step = INFINITY;
        for (size_t j = 0; j < group; j++) {
            double a = fabs((double)x[j]);
            if (a > 0 && a < step)
                step = a;
        }
        if (isfinite(step))
            steps[k++] = step;
    }
    if (k) {
        double lo = steps[0], hi = steps[0];
        for (size_t i = 1; i < k; i++) {
            lo = steps[i] < lo ? steps[i] : lo;
            hi = steps[i] > hi ? steps[i] : hi;
        }
        for (size_t i = 0; i < k; i++) {
            size_t b = hi > lo ? (size_t)((steps[i] - lo) / (hi - lo) * UI_HIST_BINS) : 0;
            row->hist[b < UI_HIST_BINS ? b : UI_HIST_BINS - 1]++;
        }
        row->hist_lo = lo;
        row->hist_hi = hi;
        row->groups = k;
    }
    free(steps);
}
