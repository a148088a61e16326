#include "kernels/hessian.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/matrix.h"

ms_status ms_hessian_init(ms_hessian *h, size_t dim, ms_diag *diag)
{
    ms_matrix m;
    ms_status st = ms_matrix_init(&m, dim, dim, diag);
    *h = (ms_hessian){.data = m.data, .dim = st == MS_OK ? dim : 0};
    return st;
}

void ms_hessian_free(ms_hessian *h)
{
    free(h->data);
    *h = (ms_hessian){0};
}

/* Copies the lower triangle onto the upper one in 64 x 64 tiles: a plain
 * column walk misses the cache on every element of a 4096-wide matrix and
 * took a third of the time of the multiply itself. */
static void mirror_lower(float *a, size_t d)
{
    enum { T = 64 };
    for (size_t i0 = 0; i0 < d; i0 += T) {
        size_t i1 = i0 + T < d ? i0 + T : d;
        for (size_t j0 = i0; j0 < d; j0 += T) {
            size_t j1 = j0 + T < d ? j0 + T : d;
            for (size_t i = i0; i < i1; i++)
                for (size_t j = j0 > i + 1 ? j0 : i + 1; j < j1; j++)
                    a[i * d + j] = a[j * d + i];
        }
    }
}

ms_status ms_hessian_add(ms_pool *pool, ms_hessian *h, const float *x, size_t rows, size_t samples,
                         ms_diag *diag)
{
    if (samples == 0)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-HESSIAN-SAMPLES", NULL, 0, 0,
                           "a batch must count at least one sample");
    ms_status st = ms_check_finite(x, rows, h->dim, h->dim, "x", diag);
    if (st != MS_OK)
        return st;
    size_t n = h->num_samples + samples, d = h->dim;
    float keep = (float)((double)h->num_samples / (double)n);
    st = ms_gemm(pool, MS_TRANS, MS_NOTRANS, MS_PART_LOWER, d, d, rows, (float)(2.0 / (double)n), x,
                 d, x, d, keep, h->data, d, diag);
    if (st != MS_OK)
        return st;
    mirror_lower(h->data, d);
    h->num_samples = n;
    return MS_OK;
}

/* a[i][j] <-> a[n-1-i][n-1-j]: reverses the order of rows and columns. */
static void reverse_both(float *a, size_t n)
{
    for (size_t i = 0, total = n * n; i < total / 2; i++) {
        float t = a[i];
        a[i] = a[total - 1 - i];
        a[total - 1 - i] = t;
    }
}

ms_status ms_hessian_inverse_factor(ms_pool *pool, float *h, size_t n, double dampening_frac,
                                    float *u, uint8_t *dead, int *fell_back, ms_diag *diag)
{
    *fell_back = 0;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        float *hii = &h[i * n + i];
        if (dead)
            dead[i] = *hii == 0.0f;
        if (*hii == 0.0f)
            *hii = 1.0f;
        sum += *hii;
    }
    float damp = (float)(dampening_frac * (float)(sum / (double)n));
    for (size_t i = 0; i < n; i++)
        h[i * n + i] += damp;
    /* With P the reversal, P H P = L L^T gives H = V V^T for the upper
     * V = P L P, so H^-1 = U^T U with U = V^-1 = P L^-1 P: one Cholesky and
     * one triangular inverse instead of upstream's three factorizations. */
    reverse_both(h, n);
    ms_diag local;
    ms_status st = ms_cholesky(pool, h, n, &local);
    if (st == MS_ERR_INVALID) {
        *fell_back = 1;
        memset(u, 0, n * n * sizeof *u);
        for (size_t i = 0; i < n; i++)
            u[i * n + i] = 1.0f;
        return MS_OK;
    }
    if (st != MS_OK) {
        if (diag)
            *diag = local;
        return st;
    }
    st = ms_tri_inverse(pool, h, u, n, diag);
    if (st != MS_OK)
        return st;
    reverse_both(u, n);
    return MS_OK;
}

void ms_hessian_zero_dead_columns(float *w, size_t rows, size_t n, const uint8_t *dead)
{
    for (size_t j = 0; j < n; j++)
        if (dead[j])
            for (size_t r = 0; r < rows; r++)
                w[r * n + j] = 0.0f;
}
