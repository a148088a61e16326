#include "act_quant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/quant_words.h"

static ms_status refuse(ms_diag *diag, const char *file, const ms_node *at, const char *field,
                        const char *what)
{
    return ms_diag_set(diag, MS_ERR_INVALID, "E-WORLD-SCHEME", file, at->line, at->col, "%s: %s",
                       field, what);
}

ms_status ms_act_args_read(const ms_node *n, const char *file, const char *field, ms_act_args *out,
                           ms_diag *diag)
{
    *out = (ms_act_args){.q = {8, MS_QUANT_INT, true, MS_QUANT_TENSOR, 0, {0, 0}},
                         .observer = MS_ACT_OBS_MEMORYLESS_MINMAX,
                         .averaging_constant = 0.01f};
    if (n->kind != MS_NODE_MAP)
        return refuse(diag, file, n, field, "must be a map of QuantizationArgs");
    double d;
    const ms_node *v = ms_node_get(n, "num_bits");
    if (v && ms_node_as_double(v, &d))
        out->q.num_bits = (int)d;
    v = ms_node_get(n, "type");
    if (v && ms_node_is_string(v) && !strcasecmp(v->value, "float"))
        out->q.type = MS_QUANT_FLOAT;
    bool b;
    v = ms_node_get(n, "symmetric");
    if (v && ms_node_as_bool(v, &b))
        out->q.symmetric = b;
    v = ms_node_get(n, "dynamic");
    if (v && ms_node_as_bool(v, &b))
        out->dynamic = b;
    else if (v && ms_node_is_string(v))
        return refuse(diag, file, v, field,
                      "dynamic 'local' (tensor_group) is not one the model-backed world applies");
    const ms_node *gs = ms_node_get(n, "group_size");
    if (gs && ms_node_as_double(gs, &d) && d > 0) {
        out->q.strategy = MS_QUANT_GROUP;
        out->q.group_size = (size_t)d;
    }
    v = ms_node_get(n, "strategy");
    if (v && ms_node_is_string(v)) {
        int s = ms_qstrategy_parse(v->value, true);
        if (s == MS_QSTRAT_TENSOR)
            out->q.strategy = MS_QUANT_TENSOR;
        else if (s == MS_QSTRAT_TOKEN)
            out->q.strategy = MS_QUANT_TOKEN;
        else if (s == MS_QSTRAT_GROUP && out->q.group_size)
            out->q.strategy = MS_QUANT_GROUP;
        else if (s == MS_QSTRAT_CHANNEL && out->dynamic)
            /* quant_args.py validate_model_after: dynamic needs token,
             * tensor, tensor_group or group */
            return refuse(diag, file, v, field,
                          "ValueError: One of (token, tensor, tensor_group, group) must be used "
                          "for dynamic quant.");
        else
            return refuse(diag, file, v, field,
                          "the model-backed world quantizes activations per tensor, token or "
                          "group (with group_size)");
    }
    if (out->q.strategy == MS_QUANT_TOKEN && !out->dynamic)
        return refuse(diag, file, v ? v : n, field,
                      "ValueError: Cannot perform static token quantization, please use "
                      "`dynamic=True`");
    if (!out->dynamic && out->q.strategy != MS_QUANT_TENSOR)
        return refuse(diag, file, v ? v : n, field,
                      "the model-backed world calibrates static activation scales per tensor");
    if (out->q.type == MS_QUANT_FLOAT ? out->q.num_bits != 8
                                      : out->q.num_bits < 2 || out->q.num_bits > 8)
        return refuse(diag, file, n, field,
                      "the model-backed world applies int activations of 2 to 8 bits and fp8");
    v = ms_node_get(n, "observer");
    if (v && ms_node_is_string(v) && !out->dynamic) {
        if (!strcmp(v->value, "memoryless_minmax"))
            out->observer = MS_ACT_OBS_MEMORYLESS_MINMAX;
        else if (!strcmp(v->value, "static_minmax"))
            out->observer = MS_ACT_OBS_STATIC_MINMAX;
        else if (!strcmp(v->value, "minmax"))
            out->observer = MS_ACT_OBS_MINMAX;
        else
            return refuse(diag, file, v, field,
                          "the model-backed world's activation observers are minmax, "
                          "static_minmax and memoryless_minmax");
    }
    const ms_node *kw = ms_node_get(n, "observer_kwargs");
    v = kw ? ms_node_get(kw, "averaging_constant") : NULL;
    if (v && ms_node_as_double(v, &d))
        out->averaging_constant = (float)d;
    return MS_OK;
}

/* _get_min_max over one batch: the whole batch for the tensor strategy. */
static void batch_range(const float *x, size_t n, float *mn, float *mx)
{
    float lo = x[0], hi = x[0];
    for (size_t i = 1; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    *mn = lo;
    *mx = hi;
}

void ms_act_observe(const ms_act_args *a, const float *x, size_t batches, size_t rows, size_t cols,
                    float *scale, float *zero_point)
{
    float mn = 0, mx = 0;
    size_t n = rows * cols;
    for (size_t b = 0; b < batches; b++) {
        float lo, hi;
        batch_range(x + b * n, n, &lo, &hi);
        if (!b || a->observer == MS_ACT_OBS_MEMORYLESS_MINMAX) {
            mn = lo;
            mx = hi;
        } else if (a->observer == MS_ACT_OBS_STATIC_MINMAX) {
            mn = lo < mn ? lo : mn;
            mx = hi > mx ? hi : mx;
        } else {
            /* observers/helpers.py lerp: start * (1 - w) + end * w */
            float c = a->averaging_constant;
            mn = mn * (1.0f - c) + lo * c;
            mx = mx * (1.0f - c) + hi * c;
        }
    }
    ms_quant_qparams(&a->q, mn, mx, scale, zero_point);
}

ms_status ms_act_apply(ms_pool *pool, const ms_act_args *a, const float *x, size_t seqs,
                       size_t rows, size_t cols, float scale, float zero_point, float *out,
                       ms_diag *diag)
{
    if (!a->dynamic)
        return ms_quant_apply(pool, &a->q, x, seqs * rows, cols, &scale, &zero_point, out, NULL,
                              diag);
    size_t srows, scols;
    ms_status st = ms_quant_param_shape(
        &a->q, a->q.strategy == MS_QUANT_TENSOR ? rows : seqs * rows, cols, &srows, &scols, diag);
    if (st != MS_OK)
        return st;
    float *s = malloc(srows * scols * sizeof *s), *z = malloc(srows * scols * sizeof *z);
    if (!s || !z)
        st = ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory");
    if (a->q.strategy == MS_QUANT_TENSOR)
        /* one scale per forward call: upstream runs a sequence at a time */
        for (size_t b = 0; st == MS_OK && b < seqs; b++)
            st = ms_quant_fake(pool, &a->q, x + b * rows * cols, rows, cols, out + b * rows * cols,
                               NULL, s, z, diag);
    else if (st == MS_OK)
        st = ms_quant_fake(pool, &a->q, x, seqs * rows, cols, out, NULL, s, z, diag);
    free(s);
    free(z);
    return st;
}

void ms_act_label(const ms_act_args *a, char *buf, size_t n)
{
    const char *how = !a->dynamic                       ? "st"
                      : a->q.strategy == MS_QUANT_TOKEN ? "tok"
                      : a->q.strategy == MS_QUANT_GROUP ? "grp"
                                                        : "dyn";
    if (a->q.type == MS_QUANT_FLOAT)
        snprintf(buf, n, "fp8/%s", how);
    else
        snprintf(buf, n, "%d/%s", a->q.num_bits, how);
}
