/* Calibration forward pass of an ms_model over batches of token sequences,
 * computed as Hugging Face's LlamaForCausalLM computes it (RMSNorm, rotary
 * embedding with rotate_half, causal grouped-query attention, SiLU MLP).
 *
 * An observer sees the input of every Linear as it is about to be multiplied,
 * which is what calibrating modifiers (GPTQ, SmoothQuant, AWQ, observers of
 * activation ranges) collect. The pass can also run one decoder layer at a
 * time so that a modifier can change layer i's weights before layer i+1 sees
 * its outputs, as upstream's sequential pipeline does. */
#ifndef MS_FORWARD_H
#define MS_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "../kernels/pool.h"
#include "../util/status.h"
#include "model.h"

/* `batch` sequences of `seq` token ids, row-major. */
typedef struct ms_tokens {
    int32_t *ids;
    size_t batch, seq;
} ms_tokens;

/* Uniform random ids in [0, vocab) from `seed`, the same on every machine. */
ms_status ms_tokens_random(uint64_t seed, size_t batch, size_t seq, size_t vocab, ms_tokens *out,
                           ms_diag *diag);

/* A text file tokenized by bytes (id = byte value, so vocab must be at least
 * 256), cut into consecutive sequences of `seq` bytes; at most `max_batch`
 * sequences, and a trailing part shorter than `seq` is dropped. A file
 * shorter than one sequence is an error. */
ms_status ms_tokens_from_text(const char *path, size_t seq, size_t max_batch, size_t vocab,
                              ms_tokens *out, ms_diag *diag);

void ms_tokens_free(ms_tokens *tokens);

/* Called with the input of every Linear: `rows` = batch * seq token rows of
 * `cols` = in_features values, row-major, valid only during the call. Calls
 * come in execution order: q, k, v (the same input), o, gate, up (the same
 * input), down for each layer, then lm_head. A status other than MS_OK stops
 * the pass and is returned (fill `diag` to explain). */
typedef ms_status (*ms_linear_observer)(size_t module, const char *name, const float *inputs,
                                        size_t rows, size_t cols, void *user, ms_diag *diag);

typedef struct ms_forward ms_forward;

/* Starts a pass: checks the tokens against the vocabulary and embeds them.
 * The model must outlive the pass; its weights are read when each layer runs.
 * The Linears run on `pool` (NULL: on the calling thread only); the logits do
 * not depend on its thread count. */
ms_status ms_forward_new(const ms_model *model, const ms_tokens *tokens, ms_pool *pool,
                         ms_forward **out, ms_diag *diag);
void ms_forward_free(ms_forward *fw);

/* Starts a pass at decoder layer `layer` from `hidden` (batch * seq *
 * hidden_size floats), the residual stream layers 0 to layer - 1 gave over
 * these tokens, as ms_forward_hidden returned it: the layers after it then
 * compute the same bits as a pass from the start would. */
ms_status ms_forward_resume(const ms_model *model, const ms_tokens *tokens, ms_pool *pool,
                            size_t layer, const float *hidden, ms_forward **out, ms_diag *diag);

/* The residual stream after the layers run so far, i.e. the next layer's
 * input: batch * seq * hidden_size floats, changed by the next layer run. */
const float *ms_forward_hidden(const ms_forward *fw);

/* What a quantized forward does to activations (compressed-tensors'
 * quantized Linear forward, its QuantizedKVCache): `input` may give the
 * Linear `module` another input (`*out`, rows x cols floats it owns until
 * its next call) or leave `*out` as x; `output` changes a Linear's output
 * in place; `kv` changes layer `layer`'s keys and values in place after
 * RoPE (rows x kv width each). Any may be NULL. Set before the first
 * layer runs; `q` must outlive the pass. */
typedef struct ms_forward_quant {
    ms_status (*input)(void *user, size_t module, const float *x, size_t rows, size_t cols,
                       const float **out, ms_diag *diag);
    ms_status (*output)(void *user, size_t module, float *y, size_t rows, size_t cols,
                        ms_diag *diag);
    ms_status (*kv)(void *user, size_t layer, float *k, float *v, size_t rows, size_t cols,
                    ms_diag *diag);
    void *user;
} ms_forward_quant;

void ms_forward_set_quant(ms_forward *fw, const ms_forward_quant *q);

/* Runs decoder layer `layer`; layers must run in order 0, 1, ... once each.
 * `observer` may be NULL. */
ms_status ms_forward_layer(ms_forward *fw, size_t layer, ms_linear_observer observer, void *user,
                           ms_diag *diag);

/* After the last layer: final norm and lm_head. `logits` (may be NULL when
 * only the observer matters) receives batch * seq * vocab_size floats. */
ms_status ms_forward_logits(ms_forward *fw, ms_linear_observer observer, void *user, float *logits,
                            ms_diag *diag);

/* A whole pass: every layer, then the logits (`logits` may be NULL). */
ms_status ms_forward_run(const ms_model *model, const ms_tokens *tokens, ms_pool *pool,
                         ms_linear_observer observer, void *user, float *logits, ms_diag *diag);

/* One part of decoder layer `layer` on its normed input x [batch * seq,
 * hidden_size] (what input_layernorm or post_attention_layernorm gave), as
 * the layer computes it: the attention (q, k, v, o_proj) or the MLP (gate,
 * up, down_proj), without the residual. `weights` (may be NULL, and so may
 * each entry) stand in for those Linears' weights in that order; `out`
 * receives batch * seq * hidden_size floats. AWQ's grid search runs a
 * mapping's parent module (self_attn, mlp) this way. */
typedef enum {
    MS_FORWARD_ATTENTION,
    MS_FORWARD_MLP,
} ms_forward_part;

ms_status ms_forward_block(const ms_model *model, size_t layer, ms_forward_part part,
                           const float *x, size_t batch, size_t seq, const float *const *weights,
                           ms_pool *pool, float *out, ms_diag *diag);

#endif
