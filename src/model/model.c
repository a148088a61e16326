#include "model.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../kernels/matrix.h"
#include "../util/text.h"
#include "model_impl.h"
#include "safetensors.h"

enum { MAX_SPEC_BYTES = 1024 * 1024, MAX_DIM = 1 << 20, MAX_LAYERS = 1024 };
/* 4 GiB of float weights: far beyond the `small` benchmark model. */
static const double MAX_PARAMS = 1073741824.0;

/* ---- spec ---------------------------------------------------------------- */

typedef enum { FIELD_INT, FIELD_REAL, FIELD_SEED, FIELD_OUTLIERS } field_type;

typedef struct spec_field {
    const char *key;
    field_type type;
    size_t offset;
    long long max; /* for integers; the minimum is 1 (0 for the seed) */
    const char *hint;
} spec_field;

#define FIELD(key, type, max, hint)                                                                \
    {                                                                                              \
#key, type, offsetof(ms_model_spec, key), max, hint                                        \
    }
static const spec_field spec_fields[] = {
    FIELD(hidden_size, FIELD_INT, MAX_DIM, "a whole number of channels, e.g. 256"),
    FIELD(intermediate_size, FIELD_INT, MAX_DIM, "the MLP width, e.g. 688"),
    FIELD(num_layers, FIELD_INT, MAX_LAYERS, "the number of decoder layers, e.g. 4"),
    FIELD(num_heads, FIELD_INT, MAX_DIM, "attention heads; hidden_size must be a multiple"),
    FIELD(num_kv_heads, FIELD_INT, MAX_DIM, "key/value heads (GQA); must divide num_heads"),
    FIELD(vocab_size, FIELD_INT, MAX_DIM, "at least 256 to run byte-tokenized text"),
    FIELD(rope_theta, FIELD_REAL, 0, "the rotary base, e.g. 10000.0"),
    FIELD(rms_norm_eps, FIELD_REAL, 0, "e.g. 1.0e-5 (YAML 1.1 floats need a dot)"),
    FIELD(seed, FIELD_SEED, INT64_MAX, "a whole number, 0 or more"),
    {"outliers", FIELD_OUTLIERS, 0, 0, "e.g. outliers: {count: 4, scale: 20.0}"},
};
#undef FIELD
enum { N_SPEC_FIELDS = sizeof spec_fields / sizeof spec_fields[0] };

/* Hugging Face config.json names people will reach for. */
static const char *const hf_aliases[][2] = {
    {"num_hidden_layers", "num_layers"},
    {"num_attention_heads", "num_heads"},
    {"num_key_value_heads", "num_kv_heads"},
};

static ms_status spec_error(ms_diag *diag, const char *file, const ms_node *at, const char *hint,
                            const char *fmt, const char *a, const char *b)
{
    ms_status st = ms_diag_set(diag, MS_ERR_INVALID, "E-MODEL-SPEC", file, at ? at->line : 0,
                               at ? at->col : 0, fmt, a, b);
    if (hint)
        ms_diag_hint(diag, "%s", hint);
    return st;
}

static const char *scalar_text(const ms_node *n)
{
    return n->kind == MS_NODE_SCALAR ? n->value : ms_node_type_name(n);
}

static ms_status unknown_key(const ms_node *key, const char *file, ms_diag *diag)
{
    ms_status st =
        spec_error(diag, file, key, NULL, "unknown key '%s' in a model spec%s", key->value, "");
    for (size_t i = 0; i < sizeof hf_aliases / sizeof hf_aliases[0]; i++)
        if (!strcmp(key->value, hf_aliases[i][0])) {
            ms_diag_hint(diag, "modsim calls it '%s'", hf_aliases[i][1]);
            return st;
        }
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < N_SPEC_FIELDS; i++) {
        size_t d = ms_edit_distance(key->value, spec_fields[i].key);
        if (d < best_d)
            best = spec_fields[i].key, best_d = d;
    }
    if (best)
        ms_diag_hint(diag, "did you mean '%s'?", best);
    else
        ms_diag_hint(diag, "valid keys: hidden_size, intermediate_size, num_layers, num_heads, "
                           "num_kv_heads, vocab_size, rope_theta, rms_norm_eps, seed, outliers");
    return st;
}

static ms_status read_int(const ms_node *v, const char *key, long long lo, long long hi,
                          const char *hint, const char *file, long long *out, ms_diag *diag)
{
    if (!ms_node_as_int(v, out))
        return spec_error(diag, file, v, hint, "'%s' must be a whole number, not '%s'", key,
                          scalar_text(v));
    if (*out < lo || *out > hi) {
        ms_diag_set(diag, MS_ERR_INVALID, "E-MODEL-SPEC", file, v->line, v->col,
                    "'%s' is %s, outside [%lld, %lld]", key, v->value, lo, hi);
        ms_diag_hint(diag, "%s", hint);
        return MS_ERR_INVALID;
    }
    return MS_OK;
}

static ms_status read_real(const ms_node *v, const char *key, const char *hint, const char *file,
                           double *out, ms_diag *diag)
{
    if (!ms_node_as_double(v, out) || !isfinite(*out) || *out <= 0)
        return spec_error(diag, file, v, hint, "'%s' must be a number greater than 0, not '%s'",
                          key, scalar_text(v));
    return MS_OK;
}

static ms_status read_outliers(const ms_node *v, const char *file, ms_model_spec *spec,
                               ms_diag *diag)
{
    static const char hint[] = "e.g. outliers: {count: 4, scale: 20.0}";
    if (v->kind != MS_NODE_MAP)
        return spec_error(diag, file, v, hint, "'outliers' must be a map, not a %s%s",
                          ms_node_type_name(v), "");
    for (size_t i = 0; i < v->count; i++)
        if (strcmp(v->keys[i]->value, "count") && strcmp(v->keys[i]->value, "scale"))
            return spec_error(diag, file, v->keys[i], "valid keys: count, scale",
                              "unknown key '%s' in 'outliers'%s", v->keys[i]->value, "");
    const ms_node *count = ms_node_get(v, "count"), *scale = ms_node_get(v, "scale");
    if (!count || !scale)
        return spec_error(diag, file, v, hint, "'outliers' needs '%s'%s", count ? "scale" : "count",
                          "");
    ms_status st = read_int(count, "outliers.count", 0, MS_MODEL_MAX_OUTLIERS,
                            "0 to 64 outlier channels", file, &spec->outlier_count, diag);
    if (st == MS_OK)
        st = read_real(scale, "outliers.scale", "how much larger, e.g. 20.0", file,
                       &spec->outlier_scale, diag);
    return st;
}

static ms_status check_spec(const ms_node *root, const char *file, const ms_model_spec *s,
                            ms_diag *diag)
{
    const ms_node *heads = ms_node_get(root, "num_heads");
    const ms_node *kv = ms_node_get(root, "num_kv_heads");
    const ms_node *outliers = ms_node_get(root, "outliers");
    if (s->hidden_size % s->num_heads || (s->hidden_size / s->num_heads) % 2)
        return spec_error(diag, file, heads,
                          "rotary embedding needs an even head size: hidden_size / num_heads",
                          "hidden_size %s is not num_heads %s times an even head size",
                          ms_node_get(root, "hidden_size")->value, heads->value);
    if (s->num_heads % s->num_kv_heads)
        return spec_error(diag, file, kv, "each key/value head serves num_heads / num_kv_heads",
                          "num_kv_heads %s does not divide num_heads %s", kv->value, heads->value);
    if (s->outlier_count > s->hidden_size)
        return spec_error(diag, file, outliers, "at most hidden_size outlier channels",
                          "outliers.count is larger than hidden_size%s%s", "", "");
    double h = (double)s->hidden_size, kvd = h / (double)s->num_heads * (double)s->num_kv_heads;
    double per_layer = h * (h + 2 * kvd + h) + 3 * h * (double)s->intermediate_size + 2 * h;
    double params = per_layer * (double)s->num_layers + 2 * h * (double)s->vocab_size + h;
    if (params > MAX_PARAMS)
        return ms_diag_set(diag, MS_ERR_LIMIT, "E-MODEL-SPEC", file, root->line, root->col,
                           "the spec describes %.0f parameters, more than modsim's limit of "
                           "%.0f",
                           params, MAX_PARAMS);
    return MS_OK;
}

ms_status ms_model_spec_parse(const char *text, size_t len, const char *file, ms_model_spec *out,
                              ms_diag *diag)
{
    ms_doc *doc;
    ms_status st = ms_doc_parse(text, len, file, &doc, diag);
    if (st != MS_OK)
        return st;
    file = ms_doc_file(doc);
    const ms_node *root = ms_doc_root(doc);
    ms_model_spec spec = {0};
    if (!root || root->kind != MS_NODE_MAP) {
        st = spec_error(diag, file, root, "e.g. hidden_size: 256, num_layers: 4, ...",
                        "a model spec must be a map of sizes, not %s%s",
                        root ? ms_node_type_name(root) : "an empty document", "");
        goto done;
    }
    for (size_t i = 0; i < root->count && st == MS_OK; i++) {
        const ms_node *key = root->keys[i], *v = root->items[i];
        const spec_field *f = NULL;
        for (size_t j = 0; j < N_SPEC_FIELDS && !f; j++)
            if (!strcmp(key->value, spec_fields[j].key))
                f = &spec_fields[j];
        if (!f) {
            st = unknown_key(key, file, diag);
            break;
        }
        char *field = (char *)&spec + f->offset;
        long long seed = 0;
        switch (f->type) {
        case FIELD_INT:
            st = read_int(v, f->key, 1, f->max, f->hint, file, (long long *)field, diag);
            break;
        case FIELD_REAL:
            st = read_real(v, f->key, f->hint, file, (double *)field, diag);
            break;
        case FIELD_SEED:
            st = read_int(v, f->key, 0, f->max, f->hint, file, &seed, diag);
            spec.seed = (uint64_t)seed;
            break;
        case FIELD_OUTLIERS:
            st = read_outliers(v, file, &spec, diag);
            break;
        }
    }
    for (size_t j = 0; j < N_SPEC_FIELDS && st == MS_OK; j++)
        if (spec_fields[j].type != FIELD_OUTLIERS && !ms_node_get(root, spec_fields[j].key))
            st = spec_error(diag, file, root, spec_fields[j].hint, "the model spec has no '%s'%s",
                            spec_fields[j].key, "");
    if (st == MS_OK)
        st = check_spec(root, file, &spec, diag);
    if (st == MS_OK)
        *out = spec;
done:
    ms_doc_free(doc);
    return st;
}

ms_status ms_model_spec_load(const char *path, ms_model_spec *out, ms_diag *diag)
{
    char *text;
    size_t len;
    ms_status st = ms_read_file(path, MAX_SPEC_BYTES, &text, &len, diag);
    if (st != MS_OK)
        return st;
    st = ms_model_spec_parse(text, len, path, out, diag);
    free(text);
    return st;
}

/* ---- layout -------------------------------------------------------------- */

/* Class names and torch MROs per architecture, as transformers defines them. */
#define ARCH_BASES(P)                                                                              \
    static const char *const P##_causal_lm[] = {#P "ForCausalLM", #P "PreTrainedModel",            \
                                                "PreTrainedModel", "Module", NULL};                \
    static const char *const P##_model[] = {#P "Model", #P "PreTrainedModel", "PreTrainedModel",   \
                                            "Module", NULL};                                       \
    static const char *const P##_decoder[] = {#P "DecoderLayer", "GradientCheckpointingLayer",     \
                                              "Module", NULL};                                     \
    static const char *const P##_attention[] = {#P "Attention", "Module", NULL};                   \
    static const char *const P##_mlp[] = {#P "MLP", "Module", NULL};                               \
    static const char *const P##_norm[] = {#P "RMSNorm", "Module", NULL};                          \
    static const char *const P##_rotary[] = {#P "RotaryEmbedding", "Module", NULL};
ARCH_BASES(Llama)
ARCH_BASES(Mistral)
ARCH_BASES(Qwen2)
#undef ARCH_BASES
static const char *const bases_embedding[] = {"Embedding", "Module", NULL};
static const char *const bases_list[] = {"ModuleList", "Module", NULL};
static const char *const bases_linear[] = {"Linear", "Module", NULL};
static const char *const bases_act[] = {"SiLU", "Module", NULL};

#define ARCH_KINDS(P)                                                                              \
    {                                                                                              \
        [MS_MOD_CAUSAL_LM] = P##_causal_lm, [MS_MOD_MODEL] = P##_model,                            \
        [MS_MOD_EMBEDDING] = bases_embedding, [MS_MOD_LIST] = bases_list,                          \
        [MS_MOD_DECODER_LAYER] = P##_decoder, [MS_MOD_ATTENTION] = P##_attention,                  \
        [MS_MOD_LINEAR] = bases_linear, [MS_MOD_MLP] = P##_mlp, [MS_MOD_ACTIVATION] = bases_act,   \
        [MS_MOD_RMSNORM] = P##_norm, [MS_MOD_ROTARY] = P##_rotary,                                 \
    }
static const char *const *const kind_bases[MS_ARCH_COUNT][MS_MOD_ROTARY + 1] = {
    [MS_ARCH_LLAMA] = ARCH_KINDS(Llama),
    [MS_ARCH_MISTRAL] = ARCH_KINDS(Mistral),
    [MS_ARCH_QWEN2] = ARCH_KINDS(Qwen2),
};
#undef ARCH_KINDS

typedef struct layout {
    ms_model *m;
    size_t n;
    size_t weight_at; /* parameters so far, tied ones once */
    size_t bias_at;   /* next free float in m->biases */
} layout;

/* Adds a module; when `m->modules` is NULL only counts modules and
 * parameters, so that one function defines the layout for both passes. The
 * weights get their storage later (ms_model_alloc_storage). */
static size_t add_full(layout *lo, ms_module_kind kind, int layer, const char *name, size_t rows,
                       size_t cols, bool bias, bool shared)
{
    size_t i = lo->n++;
    size_t numel = rows * (cols ? cols : 1);
    if (lo->m->modules) {
        ms_module *mod = &lo->m->modules[i];
        snprintf(lo->m->names[i], MS_MODULE_NAME_MAX, "%s", name);
        mod->name = lo->m->names[i];
        mod->bases = kind_bases[lo->m->arch][kind];
        mod->class_name = mod->bases[0];
        mod->kind = kind;
        mod->layer = layer;
        mod->ndim = rows ? (cols ? 2 : 1) : 0;
        mod->shape[0] = rows;
        mod->shape[1] = cols;
        mod->bias = bias ? lo->m->biases + lo->bias_at : NULL;
        lo->m->dtypes[i] = lo->m->bias_dtypes[i] = MS_ST_F32;
    }
    lo->weight_at += (rows && !shared ? numel : 0) + (bias ? rows : 0);
    lo->bias_at += bias ? rows : 0;
    return i;
}

static size_t add(layout *lo, ms_module_kind kind, int layer, const char *name, size_t rows,
                  size_t cols)
{
    return add_full(lo, kind, layer, name, rows, cols, false, false);
}

static void build_layout(layout *lo)
{
    const ms_model_spec *s = &lo->m->spec;
    size_t h = (size_t)s->hidden_size, inter = (size_t)s->intermediate_size;
    size_t kvd = h / (size_t)s->num_heads * (size_t)s->num_kv_heads;
    char name[MS_MODULE_NAME_MAX];
    add(lo, MS_MOD_CAUSAL_LM, -1, "", 0, 0);
    add(lo, MS_MOD_MODEL, -1, "model", 0, 0);
    lo->m->embed = add(lo, MS_MOD_EMBEDDING, -1, "model.embed_tokens", (size_t)s->vocab_size, h);
    add(lo, MS_MOD_LIST, -1, "model.layers", 0, 0);
    for (int l = 0; l < (int)s->num_layers; l++) {
        ms_layer_ix ix;
#define SUB(suffix) (snprintf(name, sizeof name, "model.layers.%d%s", l, suffix), name)
        add(lo, MS_MOD_DECODER_LAYER, l, SUB(""), 0, 0);
        add(lo, MS_MOD_ATTENTION, l, SUB(".self_attn"), 0, 0);
        bool b = lo->m->qkv_bias;
        ix.q = add_full(lo, MS_MOD_LINEAR, l, SUB(".self_attn.q_proj"), h, h, b, false);
        ix.k = add_full(lo, MS_MOD_LINEAR, l, SUB(".self_attn.k_proj"), kvd, h, b, false);
        ix.v = add_full(lo, MS_MOD_LINEAR, l, SUB(".self_attn.v_proj"), kvd, h, b, false);
        ix.o = add(lo, MS_MOD_LINEAR, l, SUB(".self_attn.o_proj"), h, h);
        add(lo, MS_MOD_MLP, l, SUB(".mlp"), 0, 0);
        ix.gate = add(lo, MS_MOD_LINEAR, l, SUB(".mlp.gate_proj"), inter, h);
        ix.up = add(lo, MS_MOD_LINEAR, l, SUB(".mlp.up_proj"), inter, h);
        ix.down = add(lo, MS_MOD_LINEAR, l, SUB(".mlp.down_proj"), h, inter);
        add(lo, MS_MOD_ACTIVATION, l, SUB(".mlp.act_fn"), 0, 0);
        ix.input_norm = add(lo, MS_MOD_RMSNORM, l, SUB(".input_layernorm"), h, 0);
        ix.post_norm = add(lo, MS_MOD_RMSNORM, l, SUB(".post_attention_layernorm"), h, 0);
#undef SUB
        if (lo->m->layers)
            lo->m->layers[l] = ix;
    }
    lo->m->final_norm = add(lo, MS_MOD_RMSNORM, -1, "model.norm", h, 0);
    add(lo, MS_MOD_ROTARY, -1, "model.rotary_emb", 0, 0);
    /* A tied lm_head is the embedding's Parameter: no storage of its own. */
    lo->m->lm_head =
        add_full(lo, MS_MOD_LINEAR, -1, "lm_head", (size_t)s->vocab_size, h, false, lo->m->tied);
}

/* ---- synthetic weights --------------------------------------------------- */

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

static const uint64_t FNV_OFFSET = 0xcbf29ce484222325u;

/* A stream per tensor, keyed by its name, so that a tensor's values do not
 * depend on the order or the sizes of the others. */
static void tensor_rng(const ms_model *m, const char *name, ms_rng *rng)
{
    ms_rng_seed(rng, m->spec.seed ^ fnv1a(FNV_OFFSET, name, strlen(name)));
}

/* Irwin-Hall sum of six 21-bit uniforms, centred: an integer with mean 0 and
 * standard deviation sqrt(2) * 2^21 whose distribution is close to normal
 * (within +-4.2 sigma). Integer arithmetic keeps it identical everywhere. */
static int64_t centred_sum(ms_rng *rng)
{
    const uint64_t mask = (1u << 21) - 1;
    int64_t sum = 0;
    for (int i = 0; i < 2; i++) {
        uint64_t r = ms_rng_next(rng);
        sum += (int64_t)(r & mask) + (int64_t)((r >> 21) & mask) + (int64_t)((r >> 42) & mask);
    }
    return 2 * sum - 6 * (int64_t)mask;
}

/* Fills `n` floats with mean `mean` and standard deviation `std`. One
 * multiplication and one addition per value, each rounded as IEEE requires,
 * and sqrt, which IEEE also requires to be correctly rounded. */
static void fill_normal(ms_rng *rng, float *out, size_t n, double mean, double std)
{
    const double unit = std / (sqrt(2.0) * 2097152.0);
    for (size_t i = 0; i < n; i++) {
        /* Two statements: C11 compilers may fuse a*b+c of one expression into
         * an FMA on some CPUs, which would round differently. */
        double scaled = (double)centred_sum(rng) * unit;
        out[i] = (float)(mean + scaled);
    }
}

static void generate(ms_model *m)
{
    const ms_model_spec *s = &m->spec;
    size_t h = (size_t)s->hidden_size;
    size_t outliers[MS_MODEL_MAX_OUTLIERS];
    ms_rng rng;
    tensor_rng(m, "outlier channels", &rng);
    for (size_t i = 0; i < (size_t)s->outlier_count; i++) {
        bool again;
        do {
            outliers[i] = (size_t)ms_rng_below(&rng, h);
            again = false;
            for (size_t j = 0; j < i; j++)
                again |= outliers[j] == outliers[i];
        } while (again);
    }
    for (size_t i = 0; i < m->n_modules; i++) {
        ms_module *mod = &m->modules[i];
        if (!mod->weight)
            continue;
        float *w = mod->weight; /* a synthetic model is stored as F32 */
        size_t numel = mod->shape[0] * (mod->ndim == 2 ? mod->shape[1] : 1);
        tensor_rng(m, mod->name, &rng);
        if (mod->kind == MS_MOD_LINEAR)
            fill_normal(&rng, w, numel, 0.0, 1.0 / sqrt((double)mod->shape[1]));
        else if (mod->kind == MS_MOD_EMBEDDING)
            fill_normal(&rng, w, numel, 0.0, 1.0);
        else {
            /* Trained norm weights scatter around 1; a few channels carry
             * much larger gains, which is where activation outliers come
             * from in real LLMs (the final norm has none: lm_head is
             * usually left alone). */
            fill_normal(&rng, w, numel, 1.0, 0.1);
            if (mod->layer >= 0)
                for (size_t j = 0; j < (size_t)s->outlier_count; j++)
                    w[outliers[j]] = (float)s->outlier_scale;
        }
    }
}

ms_status ms_model_alloc_modules(const ms_model_spec *spec, ms_arch arch, bool tied, bool qkv_bias,
                                 ms_model **out, ms_diag *diag)
{
    ms_model *m = calloc(1, sizeof *m);
    if (!m)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory");
    m->spec = *spec;
    m->arch = arch;
    m->tied = tied;
    m->qkv_bias = qkv_bias;
    layout count = {.m = m};
    build_layout(&count);
    m->n_modules = count.n;
    m->n_weights = count.weight_at;
    m->n_biases = count.bias_at;
    m->modules = calloc(m->n_modules, sizeof *m->modules);
    m->names = calloc(m->n_modules, sizeof *m->names);
    m->layers = calloc((size_t)spec->num_layers, sizeof *m->layers);
    m->biases = malloc((m->n_biases ? m->n_biases : 1) * sizeof *m->biases);
    m->dtypes = calloc(m->n_modules, sizeof *m->dtypes);
    m->bias_dtypes = calloc(m->n_modules, sizeof *m->bias_dtypes);
    m->written = calloc(m->n_modules, sizeof *m->written);
    if (!m->modules || !m->names || !m->layers || !m->biases || !m->dtypes || !m->bias_dtypes ||
        !m->written) {
        ms_model_free(m);
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                           "out of memory for a model of %zu parameters", count.weight_at);
    }
    layout fill = {.m = m};
    build_layout(&fill);
    *out = m;
    return MS_OK;
}

static size_t align64(size_t n)
{
    return (n + 63) / 64 * 64;
}

ms_status ms_model_alloc_storage(ms_model *m, ms_diag *diag)
{
    size_t bytes = 0;
    for (size_t i = 0; i < m->n_modules; i++)
        if (m->modules[i].ndim && !(m->tied && i == m->lm_head))
            bytes =
                align64(bytes) + ms_module_numel(&m->modules[i]) * ms_st_dtype_size(m->dtypes[i]);
    m->storage = (unsigned char *)ms_alloc_floats((bytes + 3) / 4 + 1);
    if (!m->storage)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                           "out of memory for the %zu bytes of the model's weights", bytes);
    size_t at = 0;
    for (size_t i = 0; i < m->n_modules; i++) {
        ms_module *mod = &m->modules[i];
        if (!mod->ndim || (m->tied && i == m->lm_head))
            continue;
        at = align64(at);
        mod->weight = m->storage + at;
        at += ms_module_numel(mod) * ms_st_dtype_size(m->dtypes[i]);
    }
    if (m->tied) {
        m->modules[m->lm_head].weight = m->modules[m->embed].weight;
        m->dtypes[m->lm_head] = m->dtypes[m->embed];
    }
    return MS_OK;
}

ms_status ms_model_alloc(const ms_model_spec *spec, ms_arch arch, bool tied, bool qkv_bias,
                         ms_model **out, ms_diag *diag)
{
    ms_status st = ms_model_alloc_modules(spec, arch, tied, qkv_bias, out, diag);
    if (st == MS_OK && (st = ms_model_alloc_storage(*out, diag)) != MS_OK) {
        ms_model_free(*out);
        *out = NULL;
    }
    return st;
}

ms_status ms_model_clone(const ms_model *from, ms_model **out, ms_diag *diag)
{
    ms_model *m;
    ms_status st =
        ms_model_alloc_modules(&from->spec, from->arch, from->tied, from->qkv_bias, &m, diag);
    if (st != MS_OK)
        return st;
    memcpy(m->dtypes, from->dtypes, m->n_modules * sizeof *m->dtypes);
    memcpy(m->bias_dtypes, from->bias_dtypes, m->n_modules * sizeof *m->bias_dtypes);
    st = ms_model_alloc_storage(m, diag);
    if (st != MS_OK) {
        ms_model_free(m);
        return st;
    }
    for (size_t i = 0; i < m->n_modules; i++)
        if (m->modules[i].weight)
            memcpy(m->modules[i].weight, from->modules[i].weight,
                   ms_module_numel(&m->modules[i]) * ms_st_dtype_size(m->dtypes[i]));
    memcpy(m->biases, from->biases, m->n_biases * sizeof *m->biases);
    *out = m;
    return MS_OK;
}

ms_status ms_model_new(const ms_model_spec *spec, ms_model **out, ms_diag *diag)
{
    ms_status st = ms_model_alloc(spec, MS_ARCH_LLAMA, false, false, out, diag);
    if (st == MS_OK)
        generate(*out);
    return st;
}

ms_status ms_model_load(const char *spec_path, ms_model **out, ms_diag *diag)
{
    ms_model_spec spec;
    ms_status st = ms_model_spec_load(spec_path, &spec, diag);
    return st == MS_OK ? ms_model_new(&spec, out, diag) : st;
}

extern const char ms_model_bundled_tiny[], ms_model_bundled_small[];

static const char open_hint[] =
    "--model takes tiny, small, a model spec YAML file or a Hugging Face checkpoint directory";

ms_status ms_model_open(const char *what, ms_model **out, ms_diag *diag)
{
    const char *bundled = !strcmp(what, "tiny")    ? ms_model_bundled_tiny
                          : !strcmp(what, "small") ? ms_model_bundled_small
                                                   : NULL;
    if (bundled) {
        char file[64];
        snprintf(file, sizeof file, "samples/models/%s.yaml", what);
        ms_model_spec spec;
        ms_status st = ms_model_spec_parse(bundled, strlen(bundled), file, &spec, diag);
        return st == MS_OK ? ms_model_new(&spec, out, diag) : st;
    }
    struct stat sb;
    if (!*what || stat(what, &sb) != 0) {
        ms_diag_set(diag, MS_ERR_IO, "E-IO", what, 0, 0, "no model '%s': %s", what,
                    *what ? strerror(errno) : "the name is empty");
        ms_diag_hint(diag, "%s", open_hint);
        return MS_ERR_IO;
    }
    if (S_ISDIR(sb.st_mode))
        return ms_model_hf_open(what, out, diag);
    return ms_model_load(what, out, diag);
}

void ms_model_free(ms_model *model)
{
    if (!model)
        return;
    free(model->modules);
    free(model->names);
    free(model->layers);
    free(model->storage);
    free(model->biases);
    free(model->dtypes);
    free(model->bias_dtypes);
    free(model->written);
    free(model);
}

const ms_model_spec *ms_model_get_spec(const ms_model *model)
{
    return &model->spec;
}

size_t ms_model_param_count(const ms_model *model)
{
    return model->n_weights;
}

size_t ms_model_module_count(const ms_model *model)
{
    return model->n_modules;
}

const ms_module *ms_model_module(const ms_model *model, size_t i)
{
    return &model->modules[i];
}

size_t ms_module_numel(const ms_module *module)
{
    if (!module->ndim)
        return 0;
    return module->shape[0] * (module->ndim == 2 ? module->shape[1] : 1);
}

void ms_model_weight_rows(const ms_model *m, size_t module, size_t row0, size_t rows, float *dst)
{
    const ms_module *mod = &m->modules[module];
    size_t width = mod->ndim == 2 ? mod->shape[1] : mod->shape[0];
    size_t first = row0 * width, n = rows * width;
    switch (m->dtypes[module]) {
    case MS_ST_BF16:
        for (size_t i = 0; i < n; i++)
            dst[i] = ms_bf16_to_float(((const uint16_t *)mod->weight)[first + i]);
        break;
    case MS_ST_F16:
        for (size_t i = 0; i < n; i++)
            dst[i] = ms_f16_to_float(((const uint16_t *)mod->weight)[first + i]);
        break;
    default:
        memcpy(dst, (const float *)mod->weight + first, n * sizeof *dst);
    }
}

void ms_model_weight_read(const ms_model *model, size_t module, float *dst)
{
    const ms_module *mod = &model->modules[module];
    ms_model_weight_rows(model, module, 0, mod->ndim == 2 ? mod->shape[0] : 1, dst);
}

void ms_model_weight_write(ms_model *model, size_t module, const float *src)
{
    ms_module *mod = &model->modules[module];
    size_t n = ms_module_numel(mod);
    uint16_t *bits = mod->weight;
    switch (model->dtypes[module]) {
    case MS_ST_BF16:
        for (size_t i = 0; i < n; i++)
            bits[i] = ms_float_to_bf16(src[i]);
        break;
    case MS_ST_F16:
        for (size_t i = 0; i < n; i++)
            bits[i] = ms_float_to_f16(src[i]);
        break;
    default:
        memcpy(mod->weight, src, n * sizeof *src);
    }
    model->written[module] = ++model->writes;
}

size_t ms_model_weight_bytes(const ms_model *model, size_t module)
{
    return ms_module_numel(&model->modules[module]) * ms_st_dtype_size(model->dtypes[module]);
}

void ms_model_weight_get_stored(const ms_model *model, size_t module, void *dst)
{
    memcpy(dst, model->modules[module].weight, ms_model_weight_bytes(model, module));
}

void ms_model_weight_set_stored(ms_model *model, size_t module, const void *src)
{
    memcpy(model->modules[module].weight, src, ms_model_weight_bytes(model, module));
    model->written[module] = ++model->writes;
}

uint64_t ms_model_input_version(const ms_model *model, size_t layer)
{
    const void *embed = model->modules[model->embed].weight;
    uint64_t v = 0;
    for (size_t i = 0; i < model->n_modules; i++) {
        const ms_module *mod = &model->modules[i];
        /* a tied lm_head's writes land in the embedding */
        bool feeds = (mod->layer >= 0 && (size_t)mod->layer < layer) ||
                     (mod->weight && mod->weight == embed);
        if (feeds && model->written[i] > v)
            v = model->written[i];
    }
    return v;
}

const char *ms_model_weight_dtype(const ms_model *model, size_t module)
{
    return ms_st_dtype_name(model->dtypes[module]);
}

bool ms_model_find(const ms_model *model, const char *name, size_t *index)
{
    for (size_t i = 0; i < model->n_modules; i++)
        if (!strcmp(model->modules[i].name, name)) {
            *index = i;
            return true;
        }
    return false;
}

bool ms_module_is_a(const ms_module *module, const char *cls)
{
    for (const char *const *b = module->bases; *b; b++)
        if (!strcmp(*b, cls))
            return true;
    return false;
}

/* FNV-1a over n values of `size` bytes each, little-endian. */
static uint64_t fnv1a_le(uint64_t h, const void *data, size_t n, size_t size)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t v = 0;
        if (size == 2)
            v = ((const uint16_t *)data)[i];
        else
            memcpy(&v, (const float *)data + i, sizeof v);
        for (size_t b = 0; b < size; b++) {
            unsigned char byte = (unsigned char)(v >> (8 * b));
            h = fnv1a(h, &byte, 1);
        }
    }
    return h;
}

uint64_t ms_model_weights_hash(const ms_model *model)
{
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < model->n_modules; i++) {
        const ms_module *mod = &model->modules[i];
        if (mod->weight && !(model->tied && i == model->lm_head))
            h = fnv1a_le(h, mod->weight, ms_module_numel(mod), ms_st_dtype_size(model->dtypes[i]));
        if (mod->bias)
            h = fnv1a_le(h, mod->bias, mod->shape[0], 4);
    }
    return h;
}

/* ---- safetensors --------------------------------------------------------- */

static void shape_text(const size_t *shape, size_t ndim, char *out, size_t size)
{
    size_t len = (size_t)snprintf(out, size, "[");
    for (size_t d = 0; d < ndim && len < size; d++)
        len += (size_t)snprintf(out + len, size - len, "%s%zu", d ? ", " : "", shape[d]);
    if (len < size)
        snprintf(out + len, size - len, "]");
}

ms_status ms_model_store_tensor(ms_model *m, size_t module, bool bias, const ms_st_file *f,
                                const ms_st_tensor *t, ms_diag *diag)
{
    ms_module *mod = &m->modules[module];
    if (bias) {
        m->bias_dtypes[module] = t->dtype;
        return ms_st_to_float(f, t, mod->bias, diag);
    }
    ms_st_dtype want = m->dtypes[module];
    if (want == MS_ST_F32)
        return ms_st_to_float(f, t, mod->weight, diag);
    if (t->dtype == want) { /* the file's bits, in native byte order */
        const unsigned char *p = t->data;
        uint16_t *dst = mod->weight;
        for (size_t i = 0; i < t->numel; i++)
            dst[i] = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
        return MS_OK;
    }
    float *tmp = malloc((t->numel ? t->numel : 1) * sizeof *tmp);
    if (!tmp)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory");
    ms_status st = ms_st_to_float(f, t, tmp, diag);
    uint16_t *dst = mod->weight;
    for (size_t i = 0; st == MS_OK && i < t->numel; i++)
        dst[i] = want == MS_ST_BF16 ? ms_float_to_bf16(tmp[i]) : ms_float_to_f16(tmp[i]);
    free(tmp);
    return st;
}

ms_status ms_model_load_weights(ms_model *model, const char *path, size_t *loaded, ms_diag *diag)
{
    ms_st_file *f;
    ms_status st = ms_st_open(path, &f, diag);
    if (st != MS_OK)
        return st;
    size_t n = 0;
    for (size_t i = 0; i < model->n_modules && st == MS_OK; i++) {
        const ms_module *mod = &model->modules[i];
        if (!mod->weight)
            continue;
        char name[MS_MODULE_NAME_MAX + 8];
        snprintf(name, sizeof name, "%s.weight", mod->name);
        const ms_st_tensor *t = ms_st_find(f, name);
        if (!t)
            continue;
        bool same = t->ndim == mod->ndim;
        for (size_t d = 0; same && d < mod->ndim; d++)
            same = t->shape[d] == mod->shape[d];
        if (!same) {
            char have[160], want[64];
            shape_text(t->shape, t->ndim, have, sizeof have);
            shape_text(mod->shape, mod->ndim, want, sizeof want);
            st = ms_diag_set(diag, MS_ERR_INVALID, "E-WEIGHTS", path, 0, 0,
                             "tensor '%s' has shape %s, the model expects %s", name, have, want);
            ms_diag_hint(diag, "the model spec must match the checkpoint's config.json");
            break;
        }
        st = ms_model_store_tensor(model, i, false, f, t, diag);
        model->written[i] = ++model->writes;
        n += st == MS_OK;
    }
    ms_st_close(f);
    if (st == MS_OK && loaded)
        *loaded = n;
    return st;
}

ms_status ms_model_save_weights(const ms_model *model, const char *path, ms_diag *diag)
{
    ms_st_writer *w;
    ms_status st = ms_st_writer_new(&w);
    if (st != MS_OK)
        return ms_diag_set(diag, st, "E-NOMEM", NULL, 0, 0, "out of memory");
    const ms_model_spec *s = &model->spec;
    char value[32];
#define META_INT(key, v)                                                                           \
    (snprintf(value, sizeof value, "%lld", (long long)(v)),                                        \
     st == MS_OK ? ms_st_writer_metadata(w, key, value, diag) : st)
#define META_REAL(key, v)                                                                          \
    (snprintf(value, sizeof value, "%.17g", v),                                                    \
     st == MS_OK ? ms_st_writer_metadata(w, key, value, diag) : st)
    st = META_INT("hidden_size", s->hidden_size);
    st = META_INT("intermediate_size", s->intermediate_size);
    st = META_INT("num_layers", s->num_layers);
    st = META_INT("num_heads", s->num_heads);
    st = META_INT("num_kv_heads", s->num_kv_heads);
    st = META_INT("vocab_size", s->vocab_size);
    st = META_REAL("rope_theta", s->rope_theta);
    st = META_REAL("rms_norm_eps", s->rms_norm_eps);
    st = META_INT("outlier_count", s->outlier_count);
    st = META_REAL("outlier_scale", s->outlier_scale);
    snprintf(value, sizeof value, "%llu", (unsigned long long)s->seed);
    st = st == MS_OK ? ms_st_writer_metadata(w, "seed", value, diag) : st;
#undef META_INT
#undef META_REAL
    /* biases saved in a 16-bit dtype need their bits until the write */
    uint16_t *bias_bits = malloc((model->n_biases ? model->n_biases : 1) * sizeof *bias_bits);
    if (st == MS_OK && !bias_bits)
        st = ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory");
    for (size_t i = 0; i < model->n_modules && st == MS_OK; i++) {
        const ms_module *mod = &model->modules[i];
        /* A tied lm_head is saved as Hugging Face saves it: not at all. */
        if (!mod->weight || (model->tied && i == model->lm_head))
            continue;
        char name[MS_MODULE_NAME_MAX + 8];
        snprintf(name, sizeof name, "%s.weight", mod->name);
        st = ms_st_writer_add(w, name, model->dtypes[i], mod->shape, mod->ndim, mod->weight, diag);
        if (st == MS_OK && mod->bias) {
            ms_st_dtype bd = model->bias_dtypes[i];
            const void *data = mod->bias;
            if (bd != MS_ST_F32) {
                uint16_t *bits = bias_bits + (mod->bias - model->biases);
                for (size_t j = 0; j < mod->shape[0]; j++)
                    bits[j] = bd == MS_ST_BF16 ? ms_float_to_bf16(mod->bias[j])
                                               : ms_float_to_f16(mod->bias[j]);
                data = bits;
            }
            snprintf(name, sizeof name, "%s.bias", mod->name);
            st = ms_st_writer_add(w, name, bd, mod->shape, 1, data, diag);
        }
    }
    if (st == MS_OK)
        st = ms_st_write(w, path, diag);
    ms_st_writer_free(w);
    free(bias_bits);
    return st;
}
