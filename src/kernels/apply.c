#include "kernels/apply.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kernels/hessian.h"
#include "kernels/matrix.h"
#include "kernels/sparsegpt.h"
#include "kernels/wanda.h"
#include "util/quant_words.h"

static const struct {
    const char *name, *summary;
    bool calib;
} ops[] = {
#define MS_APPLY_OP_INFO(id, name, calib, summary) {name, summary, calib},
    MS_APPLY_OP_LIST(MS_APPLY_OP_INFO)
#undef MS_APPLY_OP_INFO
};

static const ms_apply_option_info options[] = {
#define MS_APPLY_OPTION_INFO(id, name, metavar, help) {name, metavar, help},
    MS_APPLY_OPTION_LIST(MS_APPLY_OPTION_INFO)
#undef MS_APPLY_OPTION_INFO
};

#define OPT(id) (1u << MS_APPLY_OPT_##id)
#define PRUNE_OPTS (OPT(SPARSITY) | OPT(STRUCTURE))
#define QUANT_OPTS (OPT(BITS) | OPT(TYPE) | OPT(STRATEGY) | OPT(GROUP_SIZE) | OPT(ASYM))
#define SWEEP_OPTS (OPT(BLOCK_SIZE) | OPT(DAMPENING_FRAC))

static const unsigned op_options[MS_APPLY_OP_COUNT] = {
    [MS_APPLY_PRUNE] = PRUNE_OPTS,
    [MS_APPLY_QUANT] = QUANT_OPTS,
    [MS_APPLY_GPTQ] = QUANT_OPTS | SWEEP_OPTS | OPT(ACTORDER),
    [MS_APPLY_SPARSEGPT] = PRUNE_OPTS | SWEEP_OPTS,
    [MS_APPLY_WANDA] = PRUNE_OPTS,
};

const char *ms_apply_op_name(ms_apply_op op)
{
    return op < MS_APPLY_OP_COUNT ? ops[op].name : "?";
}

const char *ms_apply_op_summary(ms_apply_op op)
{
    return op < MS_APPLY_OP_COUNT ? ops[op].summary : "";
}

bool ms_apply_op_needs_calib(ms_apply_op op)
{
    return op < MS_APPLY_OP_COUNT && ops[op].calib;
}

ms_status ms_apply_op_parse(const char *name, ms_apply_op *op, ms_diag *diag)
{
    for (size_t i = 0; i < MS_APPLY_OP_COUNT; i++)
        if (!strcmp(name, ops[i].name)) {
            *op = (ms_apply_op)i;
            return MS_OK;
        }
    ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-OP", NULL, 0, 0, "unknown kernel op '%s'", name);
    ms_diag_hint(diag, "ops: prune, quant, gptq, sparsegpt, wanda");
    return MS_ERR_INVALID;
}

const ms_apply_option_info *ms_apply_option_get(ms_apply_option opt)
{
    return opt < MS_APPLY_OPT_COUNT ? &options[opt] : NULL;
}

bool ms_apply_op_takes(ms_apply_op op, ms_apply_option opt)
{
    return op < MS_APPLY_OP_COUNT && opt < MS_APPLY_OPT_COUNT && (op_options[op] >> opt & 1u);
}

void ms_apply_opts_init(ms_apply_opts *opts, ms_apply_op op)
{
    *opts = (ms_apply_opts){
        .op = op,
        .prune = {.structure = MS_PRUNE_UNSTRUCTURED, .sparsity = 0.5},
        .quant = {.num_bits = 8,
                  .type = MS_QUANT_INT,
                  .symmetric = true,
                  .strategy = MS_QUANT_CHANNEL},
        .actorder = MS_ACTORDER_NONE,
        .block_size = 128,
        .dampening_frac = 0.01,
    };
}

/* How messages write an option's name: after the caller's prefix. */
#define P(opts) ((opts)->option_prefix ? (opts)->option_prefix : "")

/* "name value is not valid" with what would be. */
static ms_status bad_value(const ms_apply_opts *o, ms_diag *diag, const char *name,
                           const char *value, const char *valid)
{
    ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-VALUE", NULL, 0, 0, "%s%s '%s' is not valid", P(o),
                name, value);
    ms_diag_hint(diag, "%s%s takes %s", P(o), name, valid);
    return MS_ERR_INVALID;
}

static bool parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* A decimal integer in [lo, hi]; no sign, no spaces. */
static bool parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
    if (*s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno || v < lo || v > hi)
        return false;
    *out = (size_t)v;
    return true;
}

static bool parse_structure(const char *s, ms_prune_args *p)
{
    if (!strcmp(s, "unstructured") || !strcmp(s, "channel") || !strcmp(s, "filter")) {
        p->structure = s[0] == 'u'   ? MS_PRUNE_UNSTRUCTURED
                       : s[0] == 'c' ? MS_PRUNE_CHANNEL
                                     : MS_PRUNE_FILTER;
        p->n = p->m = 0;
        return true;
    }
    size_t n, m;
    if (!ms_nm_parse(s, 1u << 20, &n, &m))
        return false;
    *p = (ms_prune_args){.structure = MS_PRUNE_NM, .sparsity = p->sparsity, .n = n, .m = m};
    return true;
}

static bool parse_actorder(const char *s, ms_actorder *out)
{
    int a = strcmp(s, "none") ? ms_qactorder_parse(s, false, NULL) : MS_QACT_NONE;
    if (a < 0)
        return false;
    *out = a == MS_QACT_GROUP    ? MS_ACTORDER_GROUP
           : a == MS_QACT_WEIGHT ? MS_ACTORDER_WEIGHT
                                 : MS_ACTORDER_NONE;
    return true;
}

static void list_options(const ms_apply_opts *opts, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < MS_APPLY_OPT_COUNT; i++)
        if (ms_apply_op_takes(opts->op, (ms_apply_option)i) && used < size) {
            int n = snprintf(buf + used, size - used, "%s%s%s", used ? ", " : "", P(opts),
                             options[i].name);
            used += n > 0 ? (size_t)n : 0;
        }
}

ms_status ms_apply_set(ms_apply_opts *opts, const char *name, const char *value, ms_diag *diag)
{
    size_t id = 0;
    while (id < MS_APPLY_OPT_COUNT && strcmp(name, options[id].name))
        id++;
    char valid[256];
    list_options(opts, valid, sizeof valid);
    if (id == MS_APPLY_OPT_COUNT || !ms_apply_op_takes(opts->op, (ms_apply_option)id)) {
        ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-OPTION", NULL, 0, 0,
                    id == MS_APPLY_OPT_COUNT ? "unknown option %s%s for %s"
                                             : "option %s%s does not apply to %s",
                    P(opts), name, ms_apply_op_name(opts->op));
        ms_diag_hint(diag, "%s takes %s", ms_apply_op_name(opts->op), valid);
        return MS_ERR_INVALID;
    }
    const ms_apply_option_info *info = &options[id];
    if (!info->metavar) {
        if (value)
            return bad_value(opts, diag, name, value, "no value");
        opts->quant.symmetric = false; /* --asym is the only flag */
        return MS_OK;
    }
    if (!value) {
        ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-VALUE", NULL, 0, 0, "%s%s needs a value",
                    P(opts), name);
        ms_diag_hint(diag, "%s%s %s: %s", P(opts), name, info->metavar, info->help);
        return MS_ERR_INVALID;
    }
    size_t z;
    double d;
    switch ((ms_apply_option)id) {
    case MS_APPLY_OPT_SPARSITY:
        if (!parse_double(value, &d) || d < 0.0 || d > 1.0)
            return bad_value(opts, diag, name, value, "a number in [0, 1]");
        opts->prune.sparsity = d;
        break;
    case MS_APPLY_OPT_STRUCTURE:
        if (!parse_structure(value, &opts->prune))
            return bad_value(opts, diag, name, value,
                             "unstructured, channel, filter or N:M with 0 < N <= M (e.g. 2:4)");
        break;
    case MS_APPLY_OPT_BITS:
        if (!parse_size(value, 2, 8, &z)) {
            char valid_bits[64];
            snprintf(valid_bits, sizeof valid_bits, "2..8 for %stype int, 8 for %stype fp8",
                     P(opts), P(opts));
            return bad_value(opts, diag, name, value, valid_bits);
        }
        opts->quant.num_bits = (int)z;
        break;
    case MS_APPLY_OPT_TYPE:
        if (strcmp(value, "int") && strcmp(value, "fp8"))
            return bad_value(opts, diag, name, value, "int or fp8");
        opts->quant.type = value[0] == 'i' ? MS_QUANT_INT : MS_QUANT_FLOAT;
        break;
    case MS_APPLY_OPT_STRATEGY:
        switch (ms_qstrategy_parse(value, false)) {
        case MS_QSTRAT_TENSOR:
            opts->quant.strategy = MS_QUANT_TENSOR;
            break;
        case MS_QSTRAT_CHANNEL:
            opts->quant.strategy = MS_QUANT_CHANNEL;
            break;
        case MS_QSTRAT_GROUP:
            opts->quant.strategy = MS_QUANT_GROUP;
            break;
        default: /* the kernels' fake quantization does these three */
            return bad_value(opts, diag, name, value, "tensor, channel or group");
        }
        break;
    case MS_APPLY_OPT_GROUP_SIZE:
        if (!parse_size(value, 1, SIZE_MAX, &z))
            return bad_value(opts, diag, name, value, "a positive integer");
        opts->quant.group_size = z;
        break;
    case MS_APPLY_OPT_BLOCK_SIZE:
        if (!parse_size(value, 1, SIZE_MAX, &z))
            return bad_value(opts, diag, name, value, "a positive integer");
        opts->block_size = z;
        break;
    case MS_APPLY_OPT_DAMPENING_FRAC:
        if (!parse_double(value, &d) || d < 0.0)
            return bad_value(opts, diag, name, value, "a finite number >= 0");
        opts->dampening_frac = d;
        break;
    case MS_APPLY_OPT_ACTORDER:
        if (!parse_actorder(value, &opts->actorder))
            return bad_value(opts, diag, name, value, "none, static, weight, group or dynamic");
        break;
    default:
        break;
    }
    return MS_OK;
}

/* Refuses an option combination: message, then what would be valid (a
 * parenthesized format and its arguments). */
#define UNPACK(...) __VA_ARGS__
#define REFUSE(diag, hint, ...)                                                                    \
    do {                                                                                           \
        ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-OPTIONS", NULL, 0, 0, __VA_ARGS__);            \
        ms_diag_hint(diag, UNPACK hint);                                                           \
        return MS_ERR_INVALID;                                                                     \
    } while (0)

ms_status ms_apply_check(const ms_apply_opts *o, ms_diag *diag)
{
    if (o->op != MS_APPLY_PRUNE && op_options[o->op] & OPT(STRUCTURE) &&
        (o->prune.structure == MS_PRUNE_CHANNEL || o->prune.structure == MS_PRUNE_FILTER))
        REFUSE(diag, ("use %sstructure unstructured or N:M", P(o)),
               "%s cannot prune whole channels or filters", ms_apply_op_name(o->op));
    if (!(op_options[o->op] & OPT(BITS)))
        return MS_OK;
    const ms_quant_args *q = &o->quant;
    if (q->type == MS_QUANT_FLOAT && q->num_bits != 8)
        REFUSE(diag, ("fp8 codes are 8 bits (E4M3): drop %sbits or pass %sbits 8", P(o), P(o)),
               "%sbits %d does not fit %stype fp8", P(o), q->num_bits, P(o));
    if (q->strategy == MS_QUANT_GROUP && q->group_size == 0)
        REFUSE(diag, ("pass %sgroup-size G (G must divide every tensor's columns)", P(o)),
               "%sstrategy group needs %sgroup-size", P(o), P(o));
    if (q->strategy != MS_QUANT_GROUP && q->group_size != 0)
        REFUSE(diag, ("drop %sgroup-size or pass %sstrategy group", P(o), P(o)),
               "%sgroup-size needs %sstrategy group, not %s", P(o), P(o),
               q->strategy == MS_QUANT_TENSOR ? "tensor" : "channel");
    if (o->actorder == MS_ACTORDER_GROUP && q->strategy != MS_QUANT_GROUP)
        REFUSE(diag,
               ("use %sactorder static, or %sstrategy group with %sgroup-size", P(o), P(o), P(o)),
               "%sactorder group needs %sstrategy group", P(o), P(o));
    return MS_OK;
}

ms_status ms_apply_check_shape(const ms_apply_opts *o, const char *name, size_t rows, size_t cols,
                               ms_diag *diag)
{
    const ms_prune_args *p = &o->prune;
    bool nm = op_options[o->op] & OPT(STRUCTURE) && p->structure == MS_PRUNE_NM;
    if (nm && cols % p->m != 0) {
        ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-SHAPE", NULL, 0, 0,
                    "%sstructure %zu:%zu: M = %zu does not divide the %zu columns of tensor '%s' "
                    "[%zu, %zu]",
                    P(o), p->n, p->m, p->m, cols, name, rows, cols);
        ms_diag_hint(diag, "pick M dividing %zu, or leave %s out", cols, name);
        return MS_ERR_INVALID;
    }
    if (nm && o->op == MS_APPLY_SPARSEGPT && (p->m > 64 || o->block_size % p->m != 0)) {
        ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-SHAPE", NULL, 0, 0,
                    "%sstructure %zu:%zu does not fit %sblock-size %zu", P(o), p->n, p->m, P(o),
                    o->block_size);
        ms_diag_hint(diag, "SparseGPT needs M <= 64 dividing %sblock-size", P(o));
        return MS_ERR_INVALID;
    }
    size_t g = o->quant.group_size;
    if (op_options[o->op] & OPT(GROUP_SIZE) && o->quant.strategy == MS_QUANT_GROUP &&
        cols % g != 0) {
        ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-SHAPE", NULL, 0, 0,
                    "%sgroup-size %zu does not divide the %zu columns of tensor '%s' [%zu, %zu]",
                    P(o), g, cols, name, rows, cols);
        ms_diag_hint(diag, "pick a group size dividing %zu, or leave %s out", cols, name);
        return MS_ERR_INVALID;
    }
    return MS_OK;
}

/* Puts "NAME: " before a kernel's message, which does not know the tensor. */
static ms_status name_diag(ms_status st, const char *name, ms_diag *diag)
{
    if (st != MS_OK && diag) {
        /* Room for the name: the message is cut short rather than the name. */
        char msg[sizeof diag->message + 256];
        snprintf(msg, sizeof msg, "%.200s: %s", name, diag->message);
        snprintf(diag->message, sizeof diag->message, "%.*s", (int)sizeof diag->message - 1, msg);
    }
    return st;
}

void ms_apply_codes(const ms_quant_args *q, const float *w, size_t rows, size_t cols,
                    const float *scales, const float *zero_points, size_t scols,
                    const int32_t *g_idx, int8_t *codes)
{
    size_t width = q->strategy == MS_QUANT_GROUP ? q->group_size : 0;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            size_t col = !width ? 0 : g_idx ? (size_t)g_idx[j] : j / width;
            size_t s = q->strategy == MS_QUANT_TENSOR ? 0 : i * scols + col;
            ms_quant_value(q, w[i * cols + j], scales[s], zero_points[s], &codes[i * cols + j]);
        }
}

static ms_status run_gptq(ms_pool *pool, const ms_apply_opts *o, const float *calib,
                          size_t calib_rows, size_t samples, ms_apply_result *r, ms_diag *diag)
{
    ms_hessian h;
    ms_status st = ms_hessian_init(&h, r->cols, diag);
    if (st == MS_OK)
        st = ms_hessian_add(pool, &h, calib, calib_rows, samples, diag);
    if (st == MS_OK && o->op == MS_APPLY_GPTQ) {
        ms_gptq_args a = {.quant = o->quant,
                          .actorder = o->actorder,
                          .block_size = o->block_size,
                          .dampening_frac = o->dampening_frac};
        ms_gptq_result res;
        st = ms_gptq_quantize(pool, &a, r->weight, r->rows, r->cols, h.data, r->scales,
                              r->zero_points, r->g_idx, &res, diag);
        r->loss = res.loss;
        r->fell_back = res.fell_back;
        if (st == MS_OK)
            ms_apply_codes(&o->quant, r->weight, r->rows, r->cols, r->scales, r->zero_points,
                           r->scols, r->g_idx, r->codes);
    } else if (st == MS_OK) {
        ms_sparsegpt_args a = {.sparsity = o->prune.sparsity,
                               .block_size = o->block_size,
                               .dampening_frac = o->dampening_frac};
        if (o->prune.structure == MS_PRUNE_NM) {
            a.prune_n = o->prune.n;
            a.prune_m = o->prune.m;
        }
        st = ms_sparsegpt_prune(pool, &a, r->weight, r->rows, r->cols, h.data, r->mask, &r->loss,
                                &r->fell_back, diag);
    }
    ms_hessian_free(&h);
    return st;
}

static ms_status run_wanda(ms_pool *pool, const ms_apply_opts *o, const float *calib,
                           size_t calib_rows, size_t samples, ms_apply_result *r, ms_diag *diag)
{
    ms_wanda_stats s;
    ms_status st = ms_wanda_stats_init(&s, r->cols, diag);
    if (st == MS_OK)
        st = ms_wanda_stats_add(&s, calib, calib_rows, samples, diag);
    bool nm = o->prune.structure == MS_PRUNE_NM;
    if (st == MS_OK)
        st = ms_wanda_prune(pool, &s, r->weight, r->rows, r->cols, o->prune.sparsity,
                            nm ? o->prune.n : 0, nm ? o->prune.m : 0, r->mask, diag);
    ms_wanda_stats_free(&s);
    return st;
}

/* A fresh result of tens of MB is otherwise filled one 4 KiB page fault at
 * a time, which cost as much as the kernel itself (perf: half of a
 * `modsim kernel quant` run in do_anonymous_page). A hint: ignored where
 * transparent huge pages are off. */
static void prefer_huge_pages(void *p, size_t bytes)
{
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1),
              hi = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

ms_status ms_apply_tensor(ms_pool *pool, const ms_apply_opts *o, const char *name, const float *w,
                          size_t rows, size_t cols, const float *calib, size_t calib_rows,
                          size_t calib_samples, ms_apply_result *out, ms_diag *diag)
{
    *out = (ms_apply_result){.rows = rows, .cols = cols};
    ms_status st = ms_apply_check(o, diag);
    if (st == MS_OK)
        st = ms_apply_check_shape(o, name, rows, cols, diag);
    if (st == MS_OK)
        st = name_diag(ms_check_finite(w, rows, cols, cols, "weight", diag), name, diag);
    bool calibrated = ms_apply_op_needs_calib(o->op);
    if (st == MS_OK && calibrated)
        st = name_diag(ms_check_finite(calib, calib_rows, cols, cols, "calibration inputs", diag),
                       name, diag);
    if (st == MS_OK && calibrated && (calib_rows == 0 || calib_samples == 0))
        st = ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-CALIB", NULL, 0, 0,
                         "%s: the calibration inputs are empty", name);
    if (st != MS_OK)
        return st;

    unsigned made = ms_apply_made(o);
    size_t n = rows * cols;
    out->weight = ms_alloc_floats(n ? n : 1);
    bool oom = !out->weight;
    if (made & MS_APPLY_OUT_MASK) {
        out->mask = malloc(n ? n : 1);
        oom = oom || !out->mask;
    } else {
        st = name_diag(ms_quant_param_shape(&o->quant, rows, cols, &out->srows, &out->scols, diag),
                       name, diag);
        if (st != MS_OK) {
            ms_apply_result_free(out);
            return st;
        }
        size_t ns = out->srows * out->scols;
        out->codes = malloc(n ? n : 1);
        out->scales = malloc(ns * sizeof *out->scales);
        out->zero_points = malloc(ns * sizeof *out->zero_points);
        oom = oom || !out->codes || !out->scales || !out->zero_points;
        if (made & MS_APPLY_OUT_G_IDX) {
            out->g_idx = malloc((cols ? cols : 1) * sizeof *out->g_idx);
            oom = oom || !out->g_idx;
        }
    }
    if (oom) {
        ms_apply_result_free(out);
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                           "%s: cannot allocate the results for [%zu, %zu]", name, rows, cols);
    }
    prefer_huge_pages(out->weight, n * sizeof *out->weight);
    prefer_huge_pages(out->mask ? (void *)out->mask : (void *)out->codes, n);
    if (o->op != MS_APPLY_QUANT) /* the others work on the weight in place */
        memcpy(out->weight, w, n * sizeof *w);

    switch (o->op) {
    case MS_APPLY_PRUNE:
        st = ms_prune_magnitude(pool, &o->prune, out->weight, rows, cols, out->mask, diag);
        break;
    case MS_APPLY_QUANT:
        st = ms_quant_fake(pool, &o->quant, w, rows, cols, out->weight, out->codes, out->scales,
                           out->zero_points, diag);
        break;
    case MS_APPLY_GPTQ:
    case MS_APPLY_SPARSEGPT:
        st = run_gptq(pool, o, calib, calib_rows, calib_samples, out, diag);
        break;
    case MS_APPLY_WANDA:
        st = run_wanda(pool, o, calib, calib_rows, calib_samples, out, diag);
        break;
    default:
        st = ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-OP", NULL, 0, 0, "unknown op %d",
                         (int)o->op);
        break;
    }
    if (st != MS_OK) {
        ms_apply_result_free(out);
        return name_diag(st, name, diag);
    }
    return MS_OK;
}

unsigned ms_apply_made(const ms_apply_opts *o)
{
    if (!(op_options[o->op] & OPT(BITS)))
        return MS_APPLY_OUT_WEIGHT | MS_APPLY_OUT_MASK;
    unsigned made =
        MS_APPLY_OUT_WEIGHT | MS_APPLY_OUT_CODES | MS_APPLY_OUT_SCALE | MS_APPLY_OUT_ZERO_POINT;
    if (o->op == MS_APPLY_GPTQ && o->actorder == MS_ACTORDER_GROUP)
        made |= MS_APPLY_OUT_G_IDX;
    return made;
}

void ms_apply_result_free(ms_apply_result *r)
{
    free(r->weight);
    free(r->mask);
    free(r->codes);
    free(r->scales);
    free(r->zero_points);
    free(r->g_idx);
    *r = (ms_apply_result){0};
}
