#include "kernels/smoothquant.h"

#include <math.h>
#include <stdlib.h>

ms_status ms_smoothquant_observe(const float *x, size_t rows, size_t channels, float *min,
                                 float *max, bool first, ms_diag *diag)
{
    ms_status st = ms_check_finite(x, rows, channels, channels, "activation", diag);
    if (st != MS_OK)
        return st;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < channels; j++) {
            float v = x[r * channels + j];
            if ((first && r == 0) || v < min[j])
                min[j] = v;
            if ((first && r == 0) || v > max[j])
                max[j] = v;
        }
    return MS_OK;
}

static ms_status check_balance(const ms_matrix *balance, size_t nbalance, size_t channels,
                               ms_diag *diag)
{
    for (size_t b = 0; b < nbalance; b++)
        if (balance[b].cols != channels)
            return ms_diag_set(diag, MS_ERR_INVALID, "E-SQ-SHAPE", NULL, 0, 0,
                               "balance layer %zu has %zu input columns, expected %zu", b,
                               balance[b].cols, channels);
    return MS_OK;
}

ms_status ms_smoothquant_scales(const float *min, const float *max, size_t channels,
                                const ms_matrix *balance, size_t nbalance, double alpha,
                                float *scales, ms_diag *diag)
{
    if (!(alpha >= 0.0 && alpha <= 1.0))
        return ms_diag_set(diag, MS_ERR_INVALID, "E-SQ-ALPHA", NULL, 0, 0,
                           "smoothing_strength %g is outside [0, 1]", alpha);
    ms_status st = check_balance(balance, nbalance, channels, diag);
    for (size_t b = 0; st == MS_OK && b < nbalance; b++)
        st = ms_check_finite(balance[b].data, balance[b].rows, channels, channels, "balance", diag);
    if (st != MS_OK)
        return st;
    float *wmax = calloc(channels ? channels : 1, sizeof *wmax);
    if (!wmax)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                           "cannot allocate %zu weight maxima", channels);
    for (size_t b = 0; b < nbalance; b++)
        for (size_t r = 0; r < balance[b].rows; r++)
            for (size_t j = 0; j < channels; j++) {
                float a = fabsf(balance[b].data[r * channels + j]);
                wmax[j] = a > wmax[j] ? a : wmax[j];
            }
    float fa = (float)alpha, fb = (float)(1.0 - alpha);
    for (size_t j = 0; j < channels; j++) {
        float range = max[j] - min[j], wj = 2.0f * wmax[j];
        float s = wj > 0.0f ? powf(range, fa) / powf(wj, fb) : range;
        scales[j] = s > MS_SMOOTHQUANT_MIN_SCALE ? s : MS_SMOOTHQUANT_MIN_SCALE;
    }
    free(wmax);
    return MS_OK;
}

ms_status ms_smoothquant_fold(const float *scales, size_t channels, float *norm_weight,
                              float *norm_bias, ms_matrix *balance, size_t nbalance, ms_diag *diag)
{
    ms_status st = check_balance(balance, nbalance, channels, diag);
    if (st == MS_OK)
        st = ms_check_finite(scales, 1, channels, channels, "scales", diag);
    if (st != MS_OK)
        return st;
    for (size_t j = 0; j < channels; j++)
        if (!(scales[j] > 0.0f))
            return ms_diag_set(diag, MS_ERR_INVALID, "E-SQ-SCALE", NULL, 0, 0,
                               "scale[%zu] = %g is not positive", j, (double)scales[j]);
    for (size_t j = 0; j < channels; j++) {
        norm_weight[j] /= scales[j];
        if (norm_bias)
            norm_bias[j] /= scales[j];
    }
    for (size_t b = 0; b < nbalance; b++)
        for (size_t r = 0; r < balance[b].rows; r++)
            for (size_t j = 0; j < channels; j++)
                balance[b].data[r * channels + j] *= scales[j];
    return MS_OK;
}
