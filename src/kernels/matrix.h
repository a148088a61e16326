/* Row-major float32 matrices and the dense linear algebra the kernels need:
 * a blocked, packed matrix multiply, Cholesky, and triangular inverse.
 *
 * Weights follow torch Linear: [out_features, in_features], row-major. Every
 * routine here produces the same bits whatever the pool's thread count: work is
 * split by output tile and each element is summed in a fixed order. Results
 * may differ between CPUs (an AVX-512, AVX2+FMA or baseline code path is picked
 * at load time). */
#ifndef MS_MATRIX_H
#define MS_MATRIX_H

#include <stdbool.h>
#include <stddef.h>

#include "kernels/pool.h"
#include "util/status.h"

typedef struct ms_matrix {
    float *data; /* rows * cols values, row i at data + i * cols */
    size_t rows, cols;
} ms_matrix;

/* Allocates a zero-filled rows x cols matrix (64-byte aligned). */
ms_status ms_matrix_init(ms_matrix *m, size_t rows, size_t cols, ms_diag *diag);

/* 64-byte-aligned allocation of `count` floats, freed with free(); NULL on failure. */
float *ms_alloc_floats(size_t count);

/* Fails with MS_ERR_INVALID, naming `what` and the position [row, col] of the
 * first NaN or infinity in the rows x cols array `x` (ld = row stride). */
ms_status ms_check_finite(const float *x, size_t rows, size_t cols, size_t ld, const char *what,
                          ms_diag *diag);

typedef enum {
    MS_NOTRANS,
    MS_TRANS,
} ms_trans;

/* Which part of C a multiply must produce. MS_PART_LOWER computes at least
 * every element on or below the diagonal (C square); elements above it may be
 * written with garbage or left untouched. */
typedef enum {
    MS_PART_FULL,
    MS_PART_LOWER,
} ms_part;

/* C = alpha * op(A) * op(B) + beta * C, op(A) m x k, op(B) k x n, row-major
 * with leading dimensions lda, ldb, ldc. beta == 0 ignores C's old contents
 * (NaN included). C must not overlap A or B. Returns MS_ERR_NOMEM when scratch
 * memory cannot be allocated (C is then unchanged). */
ms_status ms_gemm(ms_pool *pool, ms_trans ta, ms_trans tb, ms_part part, size_t m, size_t n,
                  size_t k, float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                  float beta, float *c, size_t ldc, ms_diag *diag);

/* op(B) (k x n, from b with leading dimension ldb) packed for multiplies
 * that use it many times: ms_gemm packs B anew on every call. b is not read
 * after ms_pack_b returns. */
typedef struct ms_packed_b ms_packed_b;
ms_status ms_pack_b(ms_pool *pool, ms_trans tb, size_t k, size_t n, const float *b, size_t ldb,
                    ms_packed_b **out, ms_diag *diag);
void ms_packed_b_free(ms_packed_b *p);

/* ms_gemm with the full C (m x n) and op(B) packed by ms_pack_b: the same
 * bits as ms_gemm on the unpacked B. */
ms_status ms_gemm_packed(ms_pool *pool, ms_trans ta, size_t m, float alpha, const float *a,
                         size_t lda, const ms_packed_b *b, float beta, float *c, size_t ldc,
                         ms_diag *diag);

/* In-place lower Cholesky of the symmetric positive definite n x n matrix `a`
 * (only its lower triangle is read): on success a = L with A = L L^T and the
 * strict upper triangle zeroed. Fails with MS_ERR_INVALID (diag names the
 * pivot) when A is not positive definite; `a` is then clobbered. */
ms_status ms_cholesky(ms_pool *pool, float *a, size_t n, ms_diag *diag);

/* x = L^-1 for the lower-triangular n x n `l` with nonzero diagonal; x is lower
 * triangular with its strict upper triangle zeroed. x and l must not overlap. */
ms_status ms_tri_inverse(ms_pool *pool, const float *l, float *x, size_t n, ms_diag *diag);

#endif
