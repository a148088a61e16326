#include "run_save.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/apply_file.h"

static const unsigned out_bits[] = {MS_APPLY_OUT_WEIGHT,     MS_APPLY_OUT_MASK,
                                    MS_APPLY_OUT_CODES,      MS_APPLY_OUT_SCALE,
                                    MS_APPLY_OUT_ZERO_POINT, MS_APPLY_OUT_G_IDX};
#define N_BITS (sizeof out_bits / sizeof out_bits[0])

ms_status ms_run_save_outputs(const char *list, const char *option, unsigned *quant,
                              unsigned *prune, ms_diag *diag)
{
    ms_apply_opts q, p;
    /* an asymmetric GPTQ with actorder group makes every array a quantized module can have */
    ms_apply_opts_init(&q, MS_APPLY_GPTQ);
    q.quant.symmetric = false;
    q.actorder = MS_ACTORDER_GROUP;
    ms_apply_opts_init(&p, MS_APPLY_PRUNE);
    *quant = *prune = 0;
    /* name by name: a name either op makes is taken for the modules of that op */
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory");
    ms_status st = MS_OK;
    for (char *name = strtok_r(copy, ",", &save); name && st == MS_OK;
         name = strtok_r(NULL, ",", &save)) {
        unsigned bq = 0, bp = 0;
        ms_diag ignored;
        ms_diag_clear(&ignored);
        bool in_p = ms_apply_outputs_parse(name, &p, option, &bp, &ignored) == MS_OK;
        if (ms_apply_outputs_parse(name, &q, option, &bq, in_p ? &ignored : diag) != MS_OK && !in_p)
            st = MS_ERR_INVALID;
        *quant |= bq;
        *prune |= bp;
    }
    if (st == MS_ERR_INVALID && !strchr(list, ','))
        ms_diag_hint(diag, "a pruned module also makes mask");
    else if (st == MS_OK && !*quant && !*prune)
        st = ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-USAGE", NULL, 0, 0,
                         "%s '%s': give a comma-separated list of weights, mask, codes, scale, "
                         "zero_point, g_idx, or all",
                         option, list);
    free(copy);
    return st;
}

/* The quantized modules whose codes and scales do not give their weight back. */
typedef struct lossy {
    size_t count;
    char first[700];
} lossy;

/* How one Linear module is written: the op that stands for what the run did
 * to it, the parameters the run kept for it, and the arrays asked of it. */
typedef struct plan {
    ms_apply_opts opts;
    const ms_world_qparams *qp; /* NULL: a quantized weight's are found again from it */
    unsigned want;
    size_t srows, scols;
} plan;

static ms_status plan_module(const ms_world_model *wm, size_t i, const unsigned *outputs, plan *p,
                             ms_diag *diag)
{
    const ms_module *mod = ms_model_module(ms_world_model_model(wm), i);
    const ms_quant_args *q = ms_world_model_quant(wm, i);
    p->qp = q ? ms_world_model_qparams(wm, i) : NULL;
    ms_apply_opts_init(&p->opts, q ? MS_APPLY_QUANT : MS_APPLY_PRUNE);
    if (q)
        p->opts.quant = p->qp ? p->qp->scheme : *q;
    /* compressed-tensors keeps weight_g_idx for actorder group */
    unsigned g_idx = p->qp && p->qp->g_idx ? MS_APPLY_OUT_G_IDX : 0;
    unsigned made = ms_apply_made(&p->opts) | g_idx;
    p->want = (outputs ? outputs[q ? 0 : 1] : ms_apply_outputs_default(&p->opts) | g_idx) & made;
    if (!p->want)
        p->want = MS_APPLY_OUT_WEIGHT;
    p->srows = p->scols = 0;
    if (p->want & (MS_APPLY_OUT_SCALE | MS_APPLY_OUT_ZERO_POINT))
        return ms_quant_param_shape(&p->opts.quant, mod->shape[0], mod->shape[1], &p->srows,
                                    &p->scols, diag);
    return MS_OK;
}

static bool is_linear(const ms_model *m, size_t i)
{
    const ms_module *mod = ms_model_module(m, i);
    return mod->kind == MS_MOD_LINEAR && mod->ndim == 2;
}

/* Whether module i's weight is written: a tied lm_head, which shares
 * embed_tokens' weight, is not (Hugging Face saves the embeddings only), as
 * ms_model_save_weights does. */
static bool has_own_weight(const ms_model *m, size_t i)
{
    const ms_module *mod = ms_model_module(m, i);
    for (size_t j = 0; mod->weight && j < i; j++)
        if (ms_model_module(m, j)->weight == mod->weight)
            return false;
    return mod->weight != NULL;
}

static ms_status declare(ms_st_writer *wr, const ms_world_model *wm, const plan *plans,
                         const char *provenance, ms_diag *diag)
{
    const ms_model *m = ms_world_model_model(wm);
    ms_status st = ms_st_writer_metadata(wr, "modsim_run", provenance, diag);
    char name[600];
    for (size_t i = 0; st == MS_OK && i < ms_model_module_count(m); i++) {
        const ms_module *mod = ms_model_module(m, i);
        if (!has_own_weight(m, i))
            continue;
        for (size_t k = 0; st == MS_OK && k < N_BITS; k++) {
            unsigned bit = out_bits[k];
            if (!(is_linear(m, i) ? plans[i].want & bit : bit == MS_APPLY_OUT_WEIGHT))
                continue;
            bool params = bit & (MS_APPLY_OUT_SCALE | MS_APPLY_OUT_ZERO_POINT);
            size_t pshape[2] = {plans[i].srows, plans[i].scols}, gshape[1] = {mod->shape[1]};
            snprintf(name, sizeof name, "%s.weight%s", mod->name, ms_apply_output_suffix(bit));
            st = ms_st_writer_add_later(wr, name, ms_apply_output_dtype(bit),
                                        bit == MS_APPLY_OUT_G_IDX ? gshape
                                        : params                  ? pshape
                                                                  : mod->shape,
                                        bit == MS_APPLY_OUT_G_IDX ? 1 : mod->ndim, diag);
        }
        if (st == MS_OK && mod->bias) {
            snprintf(name, sizeof name, "%s.bias", mod->name);
            st = ms_st_writer_add_later(wr, name, MS_ST_F32, mod->shape, 1, diag);
        }
    }
    return st;
}

/* The codes of module i's weight `w` with the parameters the run kept. */
static ms_status kept_codes(const ms_module *mod, const plan *p, float *w, ms_apply_result *res,
                            ms_diag *diag)
{
    size_t rows = mod->shape[0], cols = mod->shape[1], n = rows * cols;
    res->codes = malloc(n ? n : 1);
    if (!res->codes)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory");
    ms_apply_codes(&p->qp->scheme, w, rows, cols, p->qp->scales, p->qp->zero_points, p->qp->scols,
                   p->qp->g_idx, res->codes);
    return MS_OK;
}

/* The arrays of a quantized module whose parameters the run did not keep (a
 * modifier after the quantizing one changed its weight): quantized again
 * with its scheme, which gives back codes and scales; `lost` counts those
 * that do not give its weight back. */
static ms_status codes_again(const ms_module *mod, const plan *p, float *w, ms_apply_result *res,
                             lossy *lost, ms_diag *diag)
{
    ms_status st = ms_apply_tensor(NULL, &p->opts, mod->name, w, mod->shape[0], mod->shape[1], NULL,
                                   0, 0, res, diag);
    if (st != MS_OK || p->opts.quant.type != MS_QUANT_INT)
        return st;
    size_t rows = mod->shape[0], cols = mod->shape[1];
    size_t br = (rows + res->srows - 1) / res->srows, bc = (cols + res->scols - 1) / res->scols;
    double worst = 0, top = 0;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            size_t k = r / br * res->scols + c / bc;
            float zp = res->zero_points ? res->zero_points[k] : 0;
            double back = ((float)res->codes[r * cols + c] - zp) * res->scales[k];
            double e = fabs(back - w[r * cols + c]), a = fabs((double)w[r * cols + c]);
            worst = e > worst ? e : worst;
            top = a > top ? a : top;
        }
    if (worst > 1e-6 * top && !lost->count++)
        snprintf(lost->first, sizeof lost->first, "%s (within %.3g of its largest value)",
                 mod->name, top > 0 ? worst / top : worst);
    return MS_OK;
}

/* Module i's arrays into `wr`: a quantized weight's codes with the scales
 * and zero points the run kept (or found again), the mask of a pruned one
 * its non-zeros. */
static ms_status put_module(ms_st_writer *wr, const ms_world_model *wm, size_t i, const plan *p,
                            float *w, uint8_t *mask, lossy *lost, ms_diag *diag)
{
    const ms_model *m = ms_world_model_model(wm);
    const ms_module *mod = ms_model_module(m, i);
    char name[600];
    ms_model_weight_read(m, i, w);
    size_t n = mod->ndim == 2 ? mod->shape[0] * mod->shape[1] : mod->shape[0];
    ms_apply_result res = {.weight = w, .mask = mask};
    ms_status st = MS_OK;
    bool quantized =
        is_linear(m, i) && p->opts.op == MS_APPLY_QUANT && p->want & ~(unsigned)MS_APPLY_OUT_WEIGHT;
    if (quantized && p->qp) {
        st = kept_codes(mod, p, w, &res, diag);
        res.scales = (float *)p->qp->scales; /* written, not freed */
        res.zero_points = (float *)p->qp->zero_points;
        res.g_idx = (int32_t *)p->qp->g_idx;
    } else if (quantized) {
        st = codes_again(mod, p, w, &res, lost, diag);
    } else {
        for (size_t j = 0; j < n; j++)
            mask[j] = w[j] != 0;
    }
    unsigned want = is_linear(m, i) ? p->want : MS_APPLY_OUT_WEIGHT;
    for (size_t k = 0; st == MS_OK && k < N_BITS; k++) {
        unsigned bit = out_bits[k];
        if (!(want & bit))
            continue;
        snprintf(name, sizeof name, "%s.weight%s", mod->name, ms_apply_output_suffix(bit));
        /* the weight as the run left it, not as quantized again */
        st = ms_st_writer_put(
            wr, name, bit == MS_APPLY_OUT_WEIGHT ? w : ms_apply_result_array(&res, bit), diag);
    }
    if (st == MS_OK && mod->bias) {
        snprintf(name, sizeof name, "%s.bias", mod->name);
        st = ms_st_writer_put(wr, name, mod->bias, diag);
    }
    if (quantized && p->qp)
        free(res.codes);
    else if (quantized)
        ms_apply_result_free(&res);
    return st;
}

ms_status ms_run_save(const ms_world_model *wm, const unsigned outputs[2], const char *path,
                      const char *provenance, FILE *warn, ms_diag *diag)
{
    const ms_model *m = ms_world_model_model(wm);
    size_t count = ms_model_module_count(m), largest = 1;
    plan *plans = calloc(count ? count : 1, sizeof *plans);
    ms_st_writer *wr = NULL;
    if (!plans || ms_st_writer_new(&wr) != MS_OK) {
        free(plans);
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory");
    }
    ms_status st = MS_OK;
    lossy lost = {0};
    for (size_t i = 0; st == MS_OK && i < count; i++) {
        const ms_module *mod = ms_model_module(m, i);
        size_t n = mod->ndim == 2 ? mod->shape[0] * mod->shape[1] : mod->shape[0];
        largest = n > largest ? n : largest;
        if (is_linear(m, i) && has_own_weight(m, i))
            st = plan_module(wm, i, outputs, &plans[i], diag);
    }
    float *w = st == MS_OK ? malloc(largest * sizeof *w) : NULL;
    uint8_t *mask = w ? malloc(largest) : NULL;
    if (st == MS_OK && !mask)
        st = ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory");
    if (st == MS_OK)
        st = declare(wr, wm, plans, provenance, diag);
    if (st == MS_OK)
        st = ms_st_writer_begin(wr, path, diag);
    for (size_t i = 0; st == MS_OK && i < count; i++)
        if (has_own_weight(m, i))
            st = put_module(wr, wm, i, &plans[i], w, mask, &lost, diag);
    if (st == MS_OK)
        st = ms_st_writer_finish(wr, diag);
    if (st == MS_OK && lost.count && warn)
        fprintf(warn,
                "W-SAVE-CODES: %zu quantized module%s (the first: %s) get their weight back from "
                "the codes and scales written only approximately: a modifier after the "
                "quantizing one changed the weight, so its codes and scales are found again by "
                "quantizing it with its scheme, which does not give it back; --outputs weights "
                "writes the weights themselves\n",
                lost.count, lost.count == 1 ? "" : "s", lost.first);
    ms_st_writer_free(wr);
    free(w);
    free(mask);
    free(plans);
    return st;
}
