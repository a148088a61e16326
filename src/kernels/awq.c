#include "kernels/awq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Elements per task of the loss: fixed, so the partial sums and their order
 * do not depend on the thread count. */
#define AWQ_LOSS_CHUNK 4096

/* x^e rounded once to float. torch's float32 pow (Sleef, vectorized) is
 * within an ulp but not correctly rounded; with symmetric schemes the largest
 * weight of a group sits exactly on a rounding tie, so the last bit of a scale
 * can move a code, and a fixed, documented rounding is what makes the choice
 * reproducible. */
static float awq_powf(float x, double e)
{
    return e == 0.0 ? 1.0f : (float)pow((double)x, e);
}

static double awq_pow(double x, double e)
{
    return e == 0.0 ? 1.0 : pow(x, e);
}

ms_status ms_awq_grid(ms_awq_duo duo, size_t n_grid, double *ratios, bool *duo_flags, size_t *count,
                      ms_diag *diag)
{
    size_t need = duo == MS_AWQ_DUO_OFF ? 2 : duo == MS_AWQ_DUO_ON ? 3 : 4;
    if (duo != MS_AWQ_DUO_OFF && duo != MS_AWQ_DUO_ON && duo != MS_AWQ_DUO_BOTH)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-VALUE", NULL, 0, 0,
                           "duo_scaling %d is not false, true or both", (int)duo);
    if (n_grid < need) {
        ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-VALUE", NULL, 0, 0,
                    "n_grid %zu is too small for duo_scaling %s", n_grid,
                    duo == MS_AWQ_DUO_OFF  ? "false"
                    : duo == MS_AWQ_DUO_ON ? "true"
                                           : "both");
        ms_diag_hint(diag, "upstream divides by zero below n_grid %zu; use at least %zu", need,
                     need);
        return MS_ERR_INVALID;
    }
    size_t cap = *count, n = 0;
#define AWQ_PUT(r, d)                                                                              \
    do {                                                                                           \
        if (n < cap && ratios)                                                                     \
            ratios[n] = (r);                                                                       \
        if (n < cap && duo_flags)                                                                  \
            duo_flags[n] = (d);                                                                    \
        n++;                                                                                       \
    } while (0)
    if (duo == MS_AWQ_DUO_OFF) {
        for (size_t i = 0; i < n_grid; i++)
            AWQ_PUT((double)i / (double)(n_grid - 1), false);
    } else if (duo == MS_AWQ_DUO_ON) {
        /* Upstream adds the plain ratio 0 so identity scaling is always tried. */
        AWQ_PUT(0.0, false);
        for (size_t i = 0; i + 1 < n_grid; i++)
            AWQ_PUT((double)i / (double)(n_grid - 2), true);
    } else {
        size_t half = n_grid / 2;
        for (size_t i = 0; i < half; i++) {
            AWQ_PUT((double)i / (double)(half - 1), false);
            AWQ_PUT((double)i / (double)(half - 1), true);
        }
    }
#undef AWQ_PUT
    *count = n;
    return MS_OK;
}

ms_status ms_awq_observe(const float *x, size_t rows, size_t channels, float *sum, size_t *count,
                         ms_diag *diag)
{
    ms_status st = ms_check_finite(x, rows, channels, channels, "activation", diag);
    if (st != MS_OK)
        return st;
    /* Upstream sums each batch in float32 and then adds it to the running
     * float32 total; the batch sum is kept in double here so its value does
     * not depend on a summation order torch does not fix either. */
    for (size_t j = 0; j < channels; j++) {
        double s = 0;
        for (size_t r = 0; r < rows; r++)
            s += fabsf(x[r * channels + j]);
        sum[j] += (float)s;
    }
    *count += rows;
    return MS_OK;
}

ms_status ms_awq_weight_means(const ms_quant_args *args, const ms_matrix *layers, size_t nlayers,
                              double *w_mean, ms_diag *diag)
{
    if (nlayers == 0)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-SHAPE", NULL, 0, 0,
                           "AWQ weight means need at least one balance layer");
    size_t channels = layers[0].cols, total_rows = 0;
    for (size_t l = 0; l < nlayers; l++) {
        const ms_matrix *w = &layers[l];
        size_t sr, sc;
        if (w->cols != channels)
            return ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-SHAPE", NULL, 0, 0,
                               "balance layer %zu has %zu input columns, expected %zu", l, w->cols,
                               channels);
        ms_status st = ms_quant_param_shape(args, w->rows, w->cols, &sr, &sc, diag);
        if (st == MS_OK)
            st = ms_check_finite(w->data, w->rows, w->cols, w->cols, "balance weight", diag);
        if (st != MS_OK)
            return st;
        if (args->strategy == MS_QUANT_TOKEN)
            return ms_diag_set(diag, MS_ERR_INVALID, "E-QUANT-STRATEGY", NULL, 0, 0,
                               "the token strategy is for activations, not AWQ's weights");
        if (args->strategy == MS_QUANT_BLOCK &&
            (w->rows % args->block_structure[0] || w->cols % args->block_structure[1]))
            return ms_diag_set(diag, MS_ERR_INVALID, "E-QUANT-BLOCK", NULL, 0, 0,
                               "block %zux%zu does not divide balance layer %zu [%zu, %zu] "
                               "(upstream's _compute_layer_means cannot reshape it)",
                               args->block_structure[0], args->block_structure[1], l, w->rows,
                               w->cols);
        total_rows += w->rows;
    }
    double *sum = calloc(channels ? channels : 1, sizeof *sum);
    if (!sum)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                           "cannot allocate %zu weight sums", channels);
    for (size_t l = 0; l < nlayers; l++) {
        const ms_matrix *w = &layers[l];
        size_t ch = w->cols; /* chunk height x width in the weight's own layout */
        size_t bh = 1, bw = ch;
        switch (w->rows ? args->strategy : MS_QUANT_CHANNEL) {
        case MS_QUANT_TENSOR:
            bh = w->rows;
            break;
        case MS_QUANT_GROUP:
            bw = args->group_size;
            break;
        case MS_QUANT_BLOCK:
            bh = args->block_structure[0];
            bw = args->block_structure[1];
            break;
        default:
            break;
        }
        for (size_t r0 = 0; r0 < w->rows; r0 += bh)
            for (size_t c0 = 0; c0 < ch; c0 += bw) {
                float mx = 0;
                for (size_t r = r0; r < r0 + bh; r++)
                    for (size_t c = c0; c < c0 + bw; c++) {
                        float a = fabsf(w->data[r * ch + c]);
                        mx = a > mx ? a : mx;
                    }
                float den = mx + 1e-6f;
                for (size_t r = r0; r < r0 + bh; r++)
                    for (size_t c = c0; c < c0 + bw; c++)
                        sum[c] += (double)(fabsf(w->data[r * ch + c]) / den);
            }
    }
    for (size_t j = 0; j < channels; j++)
        w_mean[j] = total_rows ? sum[j] / (double)total_rows : NAN;
    free(sum);
    return MS_OK;
}

void ms_awq_scales(const float *x_mean, const double *w_mean, size_t channels, double ratio,
                   bool duo, double *scales)
{
    if (channels == 0)
        return;
    if (duo) {
        double mx = -INFINITY, mn = INFINITY;
        for (size_t j = 0; j < channels; j++) {
            /* float32 tensor ** python float stays float32 in torch. */
            double xr = (double)awq_powf(x_mean[j], ratio);
            double s = xr / (awq_pow(w_mean[j], 1.0 - ratio) + 1e-4);
            s = s < 1e-4 ? 1e-4 : s;
            scales[j] = s;
            mx = s > mx ? s : mx;
            mn = s < mn ? s : mn;
        }
        double norm = sqrt(mx * mn);
        for (size_t j = 0; j < channels; j++) {
            double s = scales[j] / norm;
            scales[j] = isfinite(s) ? s : 1.0;
        }
        return;
    }
    float mx = -INFINITY, mn = INFINITY;
    for (size_t j = 0; j < channels; j++) {
        float s = awq_powf(x_mean[j], ratio);
        s = s < 1e-4f ? 1e-4f : s;
        scales[j] = s;
        mx = s > mx ? s : mx;
        mn = s < mn ? s : mn;
    }
    float norm = sqrtf(mx * mn);
    for (size_t j = 0; j < channels; j++) {
        float s = (float)scales[j] / norm;
        scales[j] = isfinite(s) ? s : 1.0f;
    }
}

/* One row band of a candidate: w * s before quantization, q / s after. */
typedef struct awq_scale_job {
    const float *src;
    float *dst;
    const double *scales;
    size_t rows, cols;
    bool divide;
} awq_scale_job;

static void awq_scale_task(void *ctx, size_t task, size_t worker)
{
    (void)worker;
    const awq_scale_job *j = ctx;
    const float *src = j->src + task * j->cols;
    float *dst = j->dst + task * j->cols;
    /* The product or quotient of a float and a double, rounded once to float,
     * as torch computes float32 * float64 then stores into a float32 weight. */
    for (size_t c = 0; c < j->cols; c++)
        dst[c] = (float)(j->divide ? (double)src[c] / j->scales[c] : (double)src[c] * j->scales[c]);
}

typedef struct awq_loss_job {
    const float *a, *b;
    size_t n;
    double *partial;
} awq_loss_job;

static void awq_loss_task(void *ctx, size_t task, size_t worker)
{
    (void)worker;
    const awq_loss_job *j = ctx;
    size_t lo = task * AWQ_LOSS_CHUNK, hi = lo + AWQ_LOSS_CHUNK < j->n ? lo + AWQ_LOSS_CHUNK : j->n;
    double s = 0;
    for (size_t i = lo; i < hi; i++) {
        double d = (double)j->a[i] - (double)j->b[i];
        s += d * d;
    }
    j->partial[task] = s;
}

static ms_status awq_check(const ms_awq_problem *p, ms_diag *diag)
{
    if (!p->balance || p->nbalance == 0 || !p->forward || !p->reference || !p->x_mean ||
        !p->weights)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-SHAPE", NULL, 0, 0,
                           "an AWQ search needs x_mean, balance layers, a weight scheme, a "
                           "forward pass and reference outputs");
    if (p->duo != MS_AWQ_DUO_OFF && !p->w_mean)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-SHAPE", NULL, 0, 0,
                           "duo scaling needs the weights' means (w_mean)");
    if (p->n_out == 0)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-SHAPE", NULL, 0, 0,
                           "an AWQ search needs at least one reference output");
    for (size_t b = 0; b < p->nbalance; b++) {
        size_t sr, sc;
        if (p->balance[b].cols != p->channels)
            return ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-SHAPE", NULL, 0, 0,
                               "balance layer %zu has %zu input columns, expected %zu", b,
                               p->balance[b].cols, p->channels);
        ms_status st =
            ms_quant_param_shape(p->weights, p->balance[b].rows, p->channels, &sr, &sc, diag);
        if (st == MS_OK)
            st = ms_check_finite(p->balance[b].data, p->balance[b].rows, p->channels, p->channels,
                                 "balance weight", diag);
        if (st != MS_OK)
            return st;
    }
    ms_status st = ms_check_finite(p->x_mean, 1, p->channels, p->channels, "x_mean", diag);
    if (st == MS_OK)
        st = ms_check_finite(p->reference, 1, p->n_out, p->n_out, "reference output", diag);
    for (size_t j = 0; st == MS_OK && j < p->channels; j++)
        if (p->x_mean[j] < 0 || (p->w_mean && p->duo != MS_AWQ_DUO_OFF && !(p->w_mean[j] >= 0)))
            st = ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-VALUE", NULL, 0, 0,
                             "channel %zu: x_mean %g / w_mean %g; means of magnitudes are "
                             "non-negative numbers",
                             j, (double)p->x_mean[j], p->w_mean ? p->w_mean[j] : 0.0);
    return st;
}

ms_status ms_awq_search(ms_pool *pool, const ms_awq_problem *p, ms_awq_result *result,
                        ms_diag *diag)
{
    ms_status st = awq_check(p, diag);
    size_t npoints = 0;
    if (st == MS_OK)
        st = ms_awq_grid(p->duo, p->n_grid, NULL, NULL, &npoints, diag);
    if (st != MS_OK)
        return st;
    size_t nw = 0, nq = 0, nchunks = (p->n_out + AWQ_LOSS_CHUNK - 1) / AWQ_LOSS_CHUNK;
    for (size_t b = 0; b < p->nbalance; b++) {
        size_t sr, sc;
        ms_quant_param_shape(p->weights, p->balance[b].rows, p->channels, &sr, &sc, NULL);
        nw += p->balance[b].rows * p->channels;
        nq = sr * sc > nq ? sr * sc : nq;
    }
    double *ratios = malloc(npoints * sizeof *ratios);
    bool *duo = malloc(npoints * sizeof *duo);
    double *scales = malloc((p->channels ? p->channels : 1) * sizeof *scales);
    double *partial = malloc(nchunks * sizeof *partial);
    float *wbuf = ms_alloc_floats(nw ? nw : 1);
    float *qs = malloc(2 * (nq ? nq : 1) * sizeof *qs);
    float *out = ms_alloc_floats(p->n_out);
    ms_matrix *cand = malloc(p->nbalance * sizeof *cand);
    if (!ratios || !duo || !scales || !partial || !wbuf || !qs || !out || !cand) {
        st = ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                         "cannot allocate the AWQ search's %zu candidate weights", nw);
        goto done;
    }
    ms_awq_grid(p->duo, p->n_grid, ratios, duo, &npoints, NULL);
    for (size_t b = 0, off = 0; b < p->nbalance; off += p->balance[b].rows * p->channels, b++)
        cand[b] = (ms_matrix){wbuf + off, p->balance[b].rows, p->channels};
    result->index = npoints; /* none yet */
    result->loss = INFINITY;
    for (size_t g = 0; g < npoints; g++) {
        ms_awq_scales(p->x_mean, p->w_mean, p->channels, ratios[g], duo[g], scales);
        for (size_t b = 0; b < p->nbalance && st == MS_OK; b++) {
            awq_scale_job job = {p->balance[b].data, cand[b].data, scales,
                                 cand[b].rows,       p->channels,  false};
            ms_pool_run(pool, job.rows, awq_scale_task, &job);
            st = ms_quant_fake(pool, p->weights, cand[b].data, cand[b].rows, p->channels,
                               cand[b].data, NULL, qs, qs + nq, diag);
            job.src = cand[b].data;
            job.divide = true;
            if (st == MS_OK)
                ms_pool_run(pool, job.rows, awq_scale_task, &job);
        }
        if (st == MS_OK)
            st = p->forward(p->forward_ctx, pool, cand, p->nbalance, out, p->n_out, diag);
        if (st != MS_OK)
            goto done;
        awq_loss_job lj = {p->reference, out, p->n_out, partial};
        ms_pool_run(pool, nchunks, awq_loss_task, &lj);
        double loss = 0;
        for (size_t c = 0; c < nchunks; c++)
            loss += partial[c];
        loss /= (double)p->n_out;
        if (g == 0)
            result->initial_loss = loss;
        if (loss < result->loss) {
            result->loss = loss;
            result->index = g;
            result->ratio = ratios[g];
            result->duo = duo[g];
            memcpy(result->scales, scales, p->channels * sizeof *scales);
        }
    }
    if (result->index == npoints) {
        st = ms_diag_set(diag, MS_ERR_INVALID, "E-NONFINITE", NULL, 0, 0,
                         "no finite loss was found in the AWQ grid search (%zu points)", npoints);
        ms_diag_hint(diag, "the forward pass produces NaN or infinity for every candidate");
    }
done:
    free(ratios);
    free(duo);
    free(scales);
    free(partial);
    free(wbuf);
    free(qs);
    free(out);
    free(cand);
    return st;
}

size_t ms_awq_linear_outputs(size_t rows, const ms_matrix *balance, size_t nbalance)
{
    size_t n = 0;
    for (size_t b = 0; b < nbalance; b++)
        n += rows * balance[b].rows;
    return n;
}

ms_status ms_awq_linear_forward(void *ctx, ms_pool *pool, const ms_matrix *balance, size_t nbalance,
                                float *out, size_t n_out, ms_diag *diag)
{
    const ms_awq_linear *lin = ctx;
    if (ms_awq_linear_outputs(lin->rows, balance, nbalance) != n_out)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-SHAPE", NULL, 0, 0,
                           "%zu reference outputs, but %zu inputs through the balance layers "
                           "give %zu",
                           n_out, lin->rows, ms_awq_linear_outputs(lin->rows, balance, nbalance));
    size_t off = 0;
    for (size_t b = 0; b < nbalance; b++) {
        const ms_matrix *w = &balance[b];
        ms_status st =
            ms_gemm(pool, MS_NOTRANS, MS_TRANS, MS_PART_FULL, lin->rows, w->rows, w->cols, 1.0f,
                    lin->x, w->cols, w->data, w->cols, 0.0f, out + off, w->rows, diag);
        if (st != MS_OK)
            return st;
        off += lin->rows * w->rows;
    }
    return MS_OK;
}

ms_status ms_awq_fold(const double *scales, size_t channels, ms_matrix *smooth, float *smooth_bias,
                      ms_matrix *balance, size_t nbalance, ms_diag *diag)
{
    for (size_t j = 0; j < channels; j++)
        if (!(scales[j] > 0) || !isfinite(scales[j]))
            return ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-VALUE", NULL, 0, 0,
                               "AWQ scale %zu is %g; scales must be positive and finite", j,
                               scales[j]);
    if (smooth->rows < channels)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-SHAPE", NULL, 0, 0,
                           "the smooth layer has %zu output rows, fewer than the %zu channels",
                           smooth->rows, channels);
    for (size_t b = 0; b < nbalance; b++)
        if (balance[b].cols != channels)
            return ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-SHAPE", NULL, 0, 0,
                               "balance layer %zu has %zu input columns, expected %zu", b,
                               balance[b].cols, channels);
    for (size_t b = 0; b < nbalance; b++)
        for (size_t r = 0; r < balance[b].rows; r++)
            for (size_t j = 0; j < channels; j++) {
                float *w = &balance[b].data[r * channels + j];
                *w = (float)((double)*w * scales[j]);
            }
    /* A fused smooth projection (qkv_proj before o_proj) scales its last
     * outputs, the v part, as upstream does after AutoAWQ. */
    size_t first = smooth->rows - channels;
    for (size_t j = 0; j < channels; j++) {
        float *row = smooth->data + (first + j) * smooth->cols;
        for (size_t c = 0; c < smooth->cols; c++)
            row[c] = (float)((double)row[c] / scales[j]);
        if (smooth_bias)
            smooth_bias[first + j] = (float)((double)smooth_bias[first + j] / scales[j]);
    }
    return MS_OK;
}
