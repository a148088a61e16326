#include "forward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../util/doc.h"
#include "../kernels/matrix.h"
#include "model_impl.h"

enum { MAX_TEXT_BYTES = 1 << 30 };

/* ---- tokens -------------------------------------------------------------- */

static ms_status tokens_alloc(size_t batch, size_t seq, ms_tokens *out, ms_diag *diag)
{
    if (!batch || !seq)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-TOKENS", NULL, 0, 0,
                           "a token batch needs at least one sequence of one token (got %zu x "
                           "%zu)",
                           batch, seq);
    if (batch > SIZE_MAX / seq / sizeof *out->ids)
        return ms_diag_set(diag, MS_ERR_LIMIT, "E-TOKENS", NULL, 0, 0,
                           "%zu sequences of %zu tokens do not fit in memory", batch, seq);
    out->ids = malloc(batch * seq * sizeof *out->ids);
    if (!out->ids)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory");
    out->batch = batch;
    out->seq = seq;
    return MS_OK;
}

ms_status ms_tokens_random(uint64_t seed, size_t batch, size_t seq, size_t vocab, ms_tokens *out,
                           ms_diag *diag)
{
    if (!vocab)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-TOKENS", NULL, 0, 0,
                           "random tokens need a vocabulary of at least one token");
    ms_status st = tokens_alloc(batch, seq, out, diag);
    if (st != MS_OK)
        return st;
    ms_rng rng;
    ms_rng_seed(&rng, seed);
    for (size_t i = 0; i < batch * seq; i++)
        out->ids[i] = (int32_t)ms_rng_below(&rng, vocab);
    return MS_OK;
}

ms_status ms_tokens_from_text(const char *path, size_t seq, size_t max_batch, size_t vocab,
                              ms_tokens *out, ms_diag *diag)
{
    if (vocab < 256)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-TOKENS", path, 0, 0,
                           "byte tokens need vocab_size of at least 256, the model has %zu", vocab);
    char *text;
    size_t len;
    ms_status st = ms_read_file(path, MAX_TEXT_BYTES, &text, &len, diag);
    if (st != MS_OK)
        return st;
    size_t batch = seq ? len / seq : 0;
    if (batch > max_batch)
        batch = max_batch;
    if (seq && !batch && max_batch) {
        free(text);
        ms_diag_set(diag, MS_ERR_INVALID, "E-TOKENS", path, 0, 0,
                    "the file has %zu bytes, fewer than one sequence of %zu tokens", len, seq);
        ms_diag_hint(diag, "use a longer text or a shorter sequence length");
        return MS_ERR_INVALID;
    }
    st = tokens_alloc(batch, seq, out, diag);
    for (size_t i = 0; st == MS_OK && i < batch * seq; i++)
        out->ids[i] = (unsigned char)text[i];
    free(text);
    return st;
}

void ms_tokens_free(ms_tokens *tokens)
{
    free(tokens->ids);
    tokens->ids = NULL;
    tokens->batch = tokens->seq = 0;
}

/* ---- kernels ------------------------------------------------------------- */

/* LlamaRMSNorm: x / sqrt(mean(x^2) + eps) * weight, per row. */
static void rms_norm(const float *restrict in, const float *restrict weight, float *restrict out,
                     size_t rows, size_t cols, double eps)
{
    for (size_t r = 0; r < rows; r++) {
        const float *x = in + r * cols;
        double ss = 0;
        for (size_t c = 0; c < cols; c++)
            ss += (double)x[c] * x[c];
        float inv = (float)(1.0 / sqrt(ss / (double)cols + eps));
        for (size_t c = 0; c < cols; c++)
            out[r * cols + c] = weight[c] * (x[c] * inv);
    }
}

/* transformers' _compute_llama3_parameters: long wavelengths slowed by
 * `factor`, short ones kept, the band between interpolated. */
static double llama3_inv_freq(const ms_rope_llama3 *r, double inv_freq)
{
    const double pi = 3.14159265358979323846;
    double low_wavelen = r->original_max_position / r->low_freq_factor;
    double high_wavelen = r->original_max_position / r->high_freq_factor;
    double wavelen = 2 * pi / inv_freq;
    double scaled = wavelen > low_wavelen ? inv_freq / r->factor : inv_freq;
    if (wavelen < high_wavelen || wavelen > low_wavelen)
        return scaled;
    double smooth = (r->original_max_position / wavelen - r->low_freq_factor) /
                    (r->high_freq_factor - r->low_freq_factor);
    return (1 - smooth) * scaled / r->factor + smooth * scaled;
}

/* ---- the pass ------------------------------------------------------------ */

struct ms_forward {
    const ms_model *m;
    ms_pool *pool; /* for the matrix multiplies; NULL runs them serially */
    size_t batch, seq, rows;
    size_t h, kvd, inter, head_dim;
    float *hidden;    /* rows x h: the residual stream */
    float *x;         /* rows x h: normed input of the next Linear group */
    float *q, *k, *v; /* rows x h, rows x kvd, rows x kvd */
    float *attn;      /* rows x h */
    float *gate, *up; /* rows x inter */
    float *out;       /* rows x h: o_proj and down_proj results */
    float *scratch;   /* per worker: attention's scores and transposed keys */
    size_t seq_pad;   /* seq rounded up to whole vectors */
    float *cos, *sin; /* seq x head_dim/2 */
    float *normw;     /* h: a norm's weight as f32 */
    float *wbuf;      /* a 16-bit Linear weight as f32, converted before its multiply
                       * (wbuf_len floats; NULL when every weight is F32) */
    size_t wbuf_len;
    size_t next_layer;
    const ms_forward_quant *quant; /* NULL: activations as they are */
};

/* Linear `module`'s weight as f32: its storage when F32, else converted
 * into the pass's buffer, which holds it until the next call. */
static const float *weight_f32(const ms_forward *fw, size_t module)
{
    const ms_module *mod = ms_model_module(fw->m, module);
    if (fw->m->dtypes[module] == MS_ST_F32)
        return mod->weight;
    ms_model_weight_read(fw->m, module, fw->wbuf);
    return fw->wbuf;
}

/* A norm's weight as f32 (in fw->normw). */
static const float *norm_f32(const ms_forward *fw, size_t module)
{
    ms_model_weight_read(fw->m, module, fw->normw);
    return fw->normw;
}

/* y[rows x out] = x[rows x in] * w[out x in]^T, w as Linear stores it. */
static ms_status matmul_xwt(const ms_forward *fw, const float *x, const float *w, float *y,
                            size_t out, size_t in, ms_diag *diag)
{
    return ms_gemm(fw->pool, MS_NOTRANS, MS_TRANS, MS_PART_FULL, fw->rows, out, in, 1.0f, x, in, w,
                   in, 0.0f, y, out, diag);
}

static ms_status observe(const ms_forward *fw, size_t module, const float *in,
                         ms_linear_observer observer, void *user, ms_diag *diag)
{
    if (!observer)
        return MS_OK;
    const ms_module *mod = ms_model_module(fw->m, module);
    return observer(module, mod->name, in, fw->rows, mod->shape[1], user, diag);
}

/* y = in * w^T plus the Linear `module`'s bias; w is its weight or one put
 * in its place. */
static ms_status linear_with(const ms_forward *fw, size_t module, const float *w, const float *in,
                             float *y, ms_diag *diag)
{
    const ms_module *mod = ms_model_module(fw->m, module);
    ms_status st = matmul_xwt(fw, in, w, y, mod->shape[0], mod->shape[1], diag);
    if (st == MS_OK && mod->bias)
        for (size_t r = 0; r < fw->rows; r++)
            for (size_t c = 0; c < mod->shape[0]; c++)
                y[r * mod->shape[0] + c] += mod->bias[c];
    return st;
}

/* Observes, then multiplies: y = in * W^T for the Linear `module`, its
 * input and output quantized as fw->quant says. */
static ms_status linear(const ms_forward *fw, size_t module, const float *in, float *y,
                        ms_linear_observer observer, void *user, ms_diag *diag)
{
    ms_status st = observe(fw, module, in, observer, user, diag);
    const ms_module *mod = ms_model_module(fw->m, module);
    if (st == MS_OK && fw->quant && fw->quant->input)
        st = fw->quant->input(fw->quant->user, module, in, fw->rows, mod->shape[1], &in, diag);
    if (st == MS_OK)
        st = linear_with(fw, module, weight_f32(fw, module), in, y, diag);
    if (st == MS_OK && fw->quant && fw->quant->output)
        st = fw->quant->output(fw->quant->user, module, y, fw->rows, mod->shape[0], diag);
    return st;
}

void ms_forward_set_quant(ms_forward *fw, const ms_forward_quant *q)
{
    fw->quant = q;
}

/* Attention is compiled for AVX-512, AVX2 and the baseline, picked at load
 * time (as the kernels' MS_CLONES). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FW_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FW_CLONES
#endif
#define FW_VLEN 16

/* 16 floats at any float address, loaded and stored by dereference (no
 * vector-returning helpers, so no ABI question outside the kernels). */
typedef float fw_v16 __attribute__((vector_size(64), aligned(4), may_alias));

/* Floats of one worker's attention scratch: the scores of one query row,
 * then one key/value head's keys transposed (head_dim rows of seq_pad). */
static size_t attention_scratch(const ms_forward *fw)
{
    return fw->seq_pad * (1 + fw->head_dim);
}

/* The buffers and rotary tables of a pass over batch x seq tokens. */
static ms_status forward_alloc(const ms_model *model, size_t batch, size_t seq, ms_pool *pool,
                               ms_forward **out, ms_diag *diag)
{
    const ms_model_spec *s = ms_model_get_spec(model);
    if (!batch || !seq)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-TOKENS", NULL, 0, 0,
                           "a forward pass needs at least one token (got %zu x %zu)", batch, seq);
    ms_forward *fw = calloc(1, sizeof *fw);
    if (!fw)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory");
    fw->m = model;
    fw->pool = pool;
    fw->batch = batch;
    fw->seq = seq;
    fw->rows = batch * seq;
    fw->h = (size_t)s->hidden_size;
    fw->head_dim = fw->h / (size_t)s->num_heads;
    fw->kvd = fw->head_dim * (size_t)s->num_kv_heads;
    fw->inter = (size_t)s->intermediate_size;
    size_t rows = fw->rows, half = fw->head_dim / 2;
    bool fits = rows <= SIZE_MAX / sizeof(float) / (fw->inter > fw->h ? fw->inter : fw->h);
    if (fits) {
        fw->hidden = malloc(rows * fw->h * sizeof(float));
        fw->x = malloc(rows * fw->h * sizeof(float));
        fw->q = malloc(rows * fw->h * sizeof(float));
        fw->k = malloc(rows * fw->kvd * sizeof(float));
        fw->v = malloc(rows * fw->kvd * sizeof(float));
        fw->attn = malloc(rows * fw->h * sizeof(float));
        fw->gate = malloc(rows * fw->inter * sizeof(float));
        fw->up = malloc(rows * fw->inter * sizeof(float));
        fw->out = malloc(rows * fw->h * sizeof(float));
        fw->seq_pad = (fw->seq + FW_VLEN - 1) / FW_VLEN * FW_VLEN;
        fw->scratch = ms_alloc_floats(ms_pool_threads(pool) * attention_scratch(fw));
        fw->cos = malloc(fw->seq * half * sizeof(float));
        fw->sin = malloc(fw->seq * half * sizeof(float));
        fw->normw = malloc(fw->h * sizeof(float));
        /* one decoder layer's largest Linear, which also holds lm_head's
         * rows a slice at a time */
        bool narrow = false;
        for (size_t i = 0; i < model->n_modules; i++)
            narrow |= model->modules[i].kind == MS_MOD_LINEAR && model->dtypes[i] != MS_ST_F32;
        fw->wbuf_len = narrow ? (fw->inter > fw->h ? fw->inter : fw->h) * fw->h : 0;
        fw->wbuf = narrow ? ms_alloc_floats(fw->wbuf_len) : NULL;
    }
    if (!fits || !fw->hidden || !fw->x || !fw->q || !fw->k || !fw->v || !fw->attn || !fw->gate ||
        !fw->up || !fw->out || !fw->scratch || !fw->cos || !fw->sin || !fw->normw ||
        (fw->wbuf_len && !fw->wbuf)) {
        ms_forward_free(fw);
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                           "out of memory for a forward pass over %zu x %zu tokens", batch, seq);
    }
    /* Rotary tables as HF's LlamaRotaryEmbedding (default rope type):
     * inv_freq[i] = theta^(-2i/d), angles pos * inv_freq, halves rotated. */
    for (size_t i = 0; i < half; i++) {
        double inv_freq = 1.0 / pow(s->rope_theta, (double)(2 * i) / (double)fw->head_dim);
        if (s->rope_llama3.factor > 0)
            inv_freq = llama3_inv_freq(&s->rope_llama3, inv_freq);
        for (size_t p = 0; p < fw->seq; p++) {
            fw->cos[p * half + i] = (float)cos((double)p * inv_freq);
            fw->sin[p * half + i] = (float)sin((double)p * inv_freq);
        }
    }
    *out = fw;
    return MS_OK;
}

ms_status ms_forward_new(const ms_model *model, const ms_tokens *tokens, ms_pool *pool,
                         ms_forward **out, ms_diag *diag)
{
    const ms_model_spec *s = ms_model_get_spec(model);
    for (size_t i = 0; i < tokens->batch * tokens->seq; i++)
        if (tokens->ids[i] < 0 || tokens->ids[i] >= s->vocab_size)
            return ms_diag_set(diag, MS_ERR_INVALID, "E-TOKENS", NULL, 0, 0,
                               "token %zu of sequence %zu is %d, outside the vocabulary [0, "
                               "%lld)",
                               i % tokens->seq, i / tokens->seq, (int)tokens->ids[i],
                               s->vocab_size);
    ms_forward *fw = NULL;
    ms_status st = forward_alloc(model, tokens->batch, tokens->seq, pool, &fw, diag);
    if (st != MS_OK)
        return st;
    for (size_t r = 0; r < fw->rows; r++)
        ms_model_weight_rows(model, model->embed, (size_t)tokens->ids[r], 1,
                             fw->hidden + r * fw->h);
    *out = fw;
    return MS_OK;
}

ms_status ms_forward_resume(const ms_model *model, const ms_tokens *tokens, ms_pool *pool,
                            size_t layer, const float *hidden, ms_forward **out, ms_diag *diag)
{
    if (layer >= (size_t)model->spec.num_layers)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-FORWARD", NULL, 0, 0,
                           "decoder layer %zu does not exist (the model has %lld)", layer,
                           model->spec.num_layers);
    ms_forward *fw = NULL;
    ms_status st = forward_alloc(model, tokens->batch, tokens->seq, pool, &fw, diag);
    if (st != MS_OK)
        return st;
    memcpy(fw->hidden, hidden, fw->rows * fw->h * sizeof(float));
    fw->next_layer = layer;
    *out = fw;
    return MS_OK;
}

const float *ms_forward_hidden(const ms_forward *fw)
{
    return fw->hidden;
}

void ms_forward_free(ms_forward *fw)
{
    if (!fw)
        return;
    float *bufs[] = {fw->hidden, fw->x,   fw->q,       fw->k,   fw->v,   fw->attn,  fw->gate,
                     fw->up,     fw->out, fw->scratch, fw->cos, fw->sin, fw->normw, fw->wbuf};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    free(fw);
}

static void rotate(const ms_forward *fw, float *t, size_t width)
{
    size_t d = fw->head_dim, half = d / 2;
    for (size_t r = 0; r < fw->rows; r++) {
        const float *c = fw->cos + (r % fw->seq) * half, *s = fw->sin + (r % fw->seq) * half;
        for (size_t h0 = 0; h0 < width; h0 += d) {
            float *x = t + r * width + h0;
            for (size_t i = 0; i < half; i++) {
                float x1 = x[i], x2 = x[i + half];
                x[i] = x1 * c[i] - x2 * s[i];
                x[i + half] = x2 * c[i] + x1 * s[i];
            }
        }
    }
}

/* Causal grouped-query attention of query head `hd` of sequence `b`: the
 * head reads key/value head hd / (num_heads / num_kv_heads), positions up to
 * its own (within the sliding window, if any). Each score is summed over the head's dimensions in
 * order, 16 keys at a time from the transposed keys; each output element over the positions in
 * order, 16 dimensions at a time: the bits of the plain loops (this file is compiled without FMA
 * contraction), at vector speed. */
FW_CLONES
static void attention_head(const ms_forward *fw, size_t b, size_t hd, float *scratch)
{
    const ms_model_spec *s = ms_model_get_spec(fw->m);
    size_t d = fw->head_dim, seq = fw->seq, pad = fw->seq_pad;
    size_t kv = hd / ((size_t)s->num_heads / (size_t)s->num_kv_heads);
    float scale = (float)(1.0 / sqrt((double)d));
    float *scores = scratch, *kt = scratch + pad;
    for (size_t u = 0; u < pad; u++)
        for (size_t i = 0; i < d; i++)
            kt[i * pad + u] = u < seq ? fw->k[(b * seq + u) * fw->kvd + kv * d + i] : 0.0f;
    /* Mistral's sliding window, as transformers' sliding_window_overlay
     * (masking_utils.py): position t sees u when t - window < u <= t */
    size_t window = s->sliding_window > 0 ? (size_t)s->sliding_window : seq;
    for (size_t t = 0; t < seq; t++) {
        size_t row = b * seq + t, lo = t >= window ? t + 1 - window : 0;
        const float *q = fw->q + row * fw->h + hd * d;
        for (size_t u0 = lo / FW_VLEN * FW_VLEN; u0 <= t; u0 += FW_VLEN) {
            fw_v16 dot = {0};
            for (size_t i = 0; i < d; i++)
                dot += q[i] * *(const fw_v16 *)(kt + i * pad + u0);
            *(fw_v16 *)(scores + u0) = dot * scale;
        }
        float max = -INFINITY;
        for (size_t u = lo; u <= t; u++)
            max = scores[u] > max ? scores[u] : max;
        double sum = 0;
        for (size_t u = lo; u <= t; u++) {
            scores[u] = expf(scores[u] - max);
            sum += scores[u];
        }
        float inv = (float)(1.0 / sum);
        float *o = fw->attn + row * fw->h + hd * d;
        size_t i0 = 0;
        for (; i0 + FW_VLEN <= d; i0 += FW_VLEN) {
            fw_v16 acc = {0};
            for (size_t u = lo; u <= t; u++) {
                const float *v = fw->v + (b * seq + u) * fw->kvd + kv * d + i0;
                acc += scores[u] * inv * *(const fw_v16 *)v;
            }
            *(fw_v16 *)(o + i0) = acc;
        }
        for (size_t i = i0; i < d; i++) {
            float acc = 0;
            for (size_t u = lo; u <= t; u++)
                acc += scores[u] * inv * fw->v[(b * seq + u) * fw->kvd + kv * d + i];
            o[i] = acc;
        }
    }
}

static void attention_task(void *ctx, size_t task, size_t worker)
{
    const ms_forward *fw = ctx;
    size_t heads = (size_t)ms_model_get_spec(fw->m)->num_heads;
    attention_head(fw, task / heads, task % heads, fw->scratch + worker * attention_scratch(fw));
}

/* Every (sequence, head) pair is a task: its output depends on nothing else. */
static void attention(ms_forward *fw)
{
    ms_pool_run(fw->pool, fw->batch * (size_t)ms_model_get_spec(fw->m)->num_heads, attention_task,
                fw);
}

/* The per-row steps between the multiplies, on the pool in blocks of rows:
 * each row's values depend on that row only. */
enum { ROWS_PER_TASK = 32 };

typedef enum { ROWS_NORM, ROWS_SILU, ROWS_ADD } rows_op;

typedef struct {
    const ms_forward *fw;
    rows_op op;
    const float *in, *weight; /* NORM: in, weight -> out; ADD: out += in */
    float *out;
    size_t cols;
    double eps;
} rows_job;

static void rows_task(void *ctx, size_t task, size_t worker)
{
    (void)worker;
    const rows_job *j = ctx;
    size_t r0 = task * ROWS_PER_TASK,
           n = j->fw->rows - r0 < ROWS_PER_TASK ? j->fw->rows - r0 : ROWS_PER_TASK;
    size_t at = r0 * j->cols, count = n * j->cols;
    if (j->op == ROWS_NORM) {
        rms_norm(j->in + at, j->weight, j->out + at, n, j->cols, j->eps);
    } else if (j->op == ROWS_SILU) {
        float *gate = j->fw->gate + at;
        const float *up = j->fw->up + at;
        for (size_t i = 0; i < count; i++) {
            float g = gate[i];
            gate[i] = g / (1.0f + expf(-g)) * up[i];
        }
    } else {
        for (size_t i = 0; i < count; i++)
            j->out[at + i] += j->in[at + i];
    }
}

static void for_rows(const ms_forward *fw, rows_job j)
{
    j.fw = fw;
    ms_pool_run(fw->pool, (fw->rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK, rows_task, &j);
}

static void norm_rows(const ms_forward *fw, const float *in, const float *weight, float *out)
{
    for_rows(fw, (rows_job){.op = ROWS_NORM,
                            .in = in,
                            .weight = weight,
                            .out = out,
                            .cols = fw->h,
                            .eps = fw->m->spec.rms_norm_eps});
}

static void add_into(const ms_forward *fw, float *acc, const float *add)
{
    for_rows(fw, (rows_job){.op = ROWS_ADD, .in = add, .out = acc, .cols = fw->h});
}

static void silu_times_up(const ms_forward *fw)
{
    for_rows(fw, (rows_job){.op = ROWS_SILU, .cols = fw->inter});
}

ms_status ms_forward_layer(ms_forward *fw, size_t layer, ms_linear_observer observer, void *user,
                           ms_diag *diag)
{
    const ms_model *m = fw->m;
    if (layer != fw->next_layer || layer >= (size_t)m->spec.num_layers)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-FORWARD", NULL, 0, 0,
                           "decoder layer %zu cannot run now: the next layer is %zu of %lld", layer,
                           fw->next_layer, m->spec.num_layers);
    const ms_layer_ix *ix = &m->layers[layer];
    norm_rows(fw, fw->hidden, norm_f32(fw, ix->input_norm), fw->x);
    ms_status st = linear(fw, ix->q, fw->x, fw->q, observer, user, diag);
    if (st == MS_OK)
        st = linear(fw, ix->k, fw->x, fw->k, observer, user, diag);
    if (st == MS_OK)
        st = linear(fw, ix->v, fw->x, fw->v, observer, user, diag);
    if (st != MS_OK)
        return st;
    rotate(fw, fw->q, fw->h);
    rotate(fw, fw->k, fw->kvd);
    if (fw->quant && fw->quant->kv)
        st = fw->quant->kv(fw->quant->user, layer, fw->k, fw->v, fw->rows, fw->kvd, diag);
    if (st != MS_OK)
        return st;
    attention(fw);
    st = linear(fw, ix->o, fw->attn, fw->out, observer, user, diag);
    if (st != MS_OK)
        return st;
    add_into(fw, fw->hidden, fw->out);
    norm_rows(fw, fw->hidden, norm_f32(fw, ix->post_norm), fw->x);
    st = linear(fw, ix->gate, fw->x, fw->gate, observer, user, diag);
    if (st == MS_OK)
        st = linear(fw, ix->up, fw->x, fw->up, observer, user, diag);
    if (st != MS_OK)
        return st;
    silu_times_up(fw);
    st = linear(fw, ix->down, fw->gate, fw->out, observer, user, diag);
    if (st != MS_OK)
        return st;
    add_into(fw, fw->hidden, fw->out);
    fw->next_layer++;
    return MS_OK;
}

ms_status ms_forward_logits(ms_forward *fw, ms_linear_observer observer, void *user, float *logits,
                            ms_diag *diag)
{
    const ms_model *m = fw->m;
    if (fw->next_layer != (size_t)m->spec.num_layers)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-FORWARD", NULL, 0, 0,
                           "logits need all %lld decoder layers; %zu have run", m->spec.num_layers,
                           fw->next_layer);
    norm_rows(fw, fw->hidden, norm_f32(fw, m->final_norm), fw->x);
    ms_status st = observe(fw, m->lm_head, fw->x, observer, user, diag);
    if (st != MS_OK || !logits)
        return st;
    const float *x = fw->x;
    size_t vocab = (size_t)m->spec.vocab_size;
    if (fw->quant && fw->quant->input)
        st = fw->quant->input(fw->quant->user, m->lm_head, x, fw->rows, fw->h, &x, diag);
    if (st == MS_OK && m->dtypes[m->lm_head] == MS_ST_F32)
        st = matmul_xwt(fw, x, m->modules[m->lm_head].weight, logits, vocab, fw->h, diag);
    /* a 16-bit lm_head a slice of rows at a time: the vocabulary's f32
     * copy would be as large as the rest of the model's */
    size_t slice = fw->wbuf_len / fw->h;
    for (size_t r0 = 0; st == MS_OK && m->dtypes[m->lm_head] != MS_ST_F32 && r0 < vocab;
         r0 += slice) {
        size_t n = vocab - r0 < slice ? vocab - r0 : slice;
        ms_model_weight_rows(m, m->lm_head, r0, n, fw->wbuf);
        st = ms_gemm(fw->pool, MS_NOTRANS, MS_TRANS, MS_PART_FULL, fw->rows, n, fw->h, 1.0f, x,
                     fw->h, fw->wbuf, fw->h, 0.0f, logits + r0, vocab, diag);
    }
    if (st == MS_OK && fw->quant && fw->quant->output)
        st = fw->quant->output(fw->quant->user, m->lm_head, logits, fw->rows, vocab, diag);
    return st;
}

ms_status ms_forward_run(const ms_model *model, const ms_tokens *tokens, ms_pool *pool,
                         ms_linear_observer observer, void *user, float *logits, ms_diag *diag)
{
    ms_forward *fw = NULL;
    ms_status st = ms_forward_new(model, tokens, pool, &fw, diag);
    for (size_t l = 0; st == MS_OK && l < (size_t)model->spec.num_layers; l++)
        st = ms_forward_layer(fw, l, observer, user, diag);
    if (st == MS_OK)
        st = ms_forward_logits(fw, observer, user, logits, diag);
    ms_forward_free(fw);
    return st;
}

ms_status ms_forward_block(const ms_model *model, size_t layer, ms_forward_part part,
                           const float *x, size_t batch, size_t seq, const float *const *weights,
                           ms_pool *pool, float *out, ms_diag *diag)
{
    if (layer >= (size_t)model->spec.num_layers)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-FORWARD", NULL, 0, 0,
                           "decoder layer %zu does not exist (the model has %lld)", layer,
                           model->spec.num_layers);
    ms_forward *fw = NULL;
    ms_status st = forward_alloc(model, batch, seq, pool, &fw, diag);
    if (st != MS_OK)
        return st;
    const ms_layer_ix *ix = &model->layers[layer];
    size_t mods[4] = {ix->q, ix->k, ix->v, ix->o};
    if (part == MS_FORWARD_MLP) {
        mods[0] = ix->gate;
        mods[1] = ix->up;
        mods[2] = ix->down;
    }
    /* the stand-ins, else each Linear's weight as f32 just before its multiply */
#define W(i) (weights && weights[i] ? weights[i] : weight_f32(fw, mods[i]))
    size_t rows = fw->rows;
    if (part == MS_FORWARD_ATTENTION) {
        st = linear_with(fw, ix->q, W(0), x, fw->q, diag);
        if (st == MS_OK)
            st = linear_with(fw, ix->k, W(1), x, fw->k, diag);
        if (st == MS_OK)
            st = linear_with(fw, ix->v, W(2), x, fw->v, diag);
        if (st == MS_OK) {
            rotate(fw, fw->q, fw->h);
            rotate(fw, fw->k, fw->kvd);
            attention(fw);
            st = linear_with(fw, ix->o, W(3), fw->attn, fw->out, diag);
        }
    } else {
        st = linear_with(fw, ix->gate, W(0), x, fw->gate, diag);
        if (st == MS_OK)
            st = linear_with(fw, ix->up, W(1), x, fw->up, diag);
        if (st == MS_OK) {
            silu_times_up(fw);
            st = linear_with(fw, ix->down, W(2), fw->gate, fw->out, diag);
        }
    }
#undef W
    if (st == MS_OK)
        memcpy(out, fw->out, rows * fw->h * sizeof *out);
    ms_forward_free(fw);
    return st;
}
