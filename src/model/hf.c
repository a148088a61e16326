/* Hugging Face checkpoint directories of the Llama family: config.json read
 * as transformers' LlamaConfig, MistralConfig and Qwen2Config read it (their
 * defaults for keys a config leaves out), then the weights from
 * model.safetensors or the shards model.safetensors.index.json lists. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../util/doc.h"
#include "model_impl.h"
#include "safetensors.h"

enum { MAX_CONFIG_BYTES = 4 * 1024 * 1024, MAX_DIM = 1 << 20, MAX_LAYERS = 1024 };
/* 2^31 parameters, 8 GiB as f32: a 1B-parameter checkpoint fits this
 * machine's memory with room for a run's copies and activations. */
static const double MAX_PARAMS = 2147483648.0;

static const char *const arch_names[MS_ARCH_COUNT] = {
    [MS_ARCH_LLAMA] = "LlamaForCausalLM",
    [MS_ARCH_MISTRAL] = "MistralForCausalLM",
    [MS_ARCH_QWEN2] = "Qwen2ForCausalLM",
};
static const char supported[] = "modsim reads LlamaForCausalLM, MistralForCausalLM and "
                                "Qwen2ForCausalLM checkpoints";

static ms_status config_error(ms_diag *diag, const char *file, const ms_node *at, const char *fmt,
                              const char *a, const char *b)
{
    return ms_diag_set(diag, MS_ERR_INVALID, "E-MODEL-SPEC", file, at ? at->line : 0,
                       at ? at->col : 0, fmt, a, b);
}

static const char *text_of(const ms_node *n)
{
    return n->kind == MS_NODE_SCALAR ? n->value : ms_node_type_name(n);
}

/* A JSON number: an unquoted scalar strtod reads whole ("1e-05" is a
 * number in JSON although YAML 1.1 would read it as a string). */
static bool json_number(const ms_node *n, double *out)
{
    if (n->kind != MS_NODE_SCALAR || n->quoted || !*n->value)
        return false;
    char *end;
    errno = 0;
    *out = strtod(n->value, &end);
    return !*end && errno == 0 && isfinite(*out);
}

static ms_status config_int(const ms_node *root, const char *file, const char *key, long long lo,
                            long long hi, long long dflt, long long *out, ms_diag *diag)
{
    const ms_node *v = ms_node_get(root, key);
    if (!v || ms_node_is_null(v)) {
        if (dflt < 0)
            return config_error(diag, file, root, "config.json has no '%s'%s", key, "");
        *out = dflt;
        return MS_OK;
    }
    double d;
    if (!json_number(v, &d) || d != floor(d))
        return config_error(diag, file, v, "'%s' must be a whole number, not %s", key, text_of(v));
    if (d < (double)lo || d > (double)hi) {
        ms_diag_set(diag, MS_ERR_INVALID, "E-MODEL-SPEC", file, v->line, v->col,
                    "'%s' is %s, outside [%lld, %lld]", key, v->value, lo, hi);
        return MS_ERR_INVALID;
    }
    *out = (long long)d;
    return MS_OK;
}

static ms_status config_real(const ms_node *root, const char *file, const char *key, double dflt,
                             double *out, ms_diag *diag)
{
    const ms_node *v = ms_node_get(root, key);
    if (!v || ms_node_is_null(v)) {
        *out = dflt;
        return MS_OK;
    }
    if (!json_number(v, out) || *out <= 0)
        return config_error(diag, file, v, "'%s' must be a number greater than 0, not %s", key,
                            text_of(v));
    return MS_OK;
}

static ms_status config_bool(const ms_node *root, const char *file, const char *key, bool *out,
                             ms_diag *diag)
{
    const ms_node *v = ms_node_get(root, key);
    if (!v || ms_node_is_null(v)) {
        *out = false;
        return MS_OK;
    }
    if (v->kind != MS_NODE_SCALAR || v->quoted ||
        (strcmp(v->value, "true") && strcmp(v->value, "false")))
        return config_error(diag, file, v, "'%s' must be true or false, not %s", key, text_of(v));
    *out = !strcmp(v->value, "true");
    return MS_OK;
}

static ms_status config_arch(const ms_node *root, const char *file, ms_arch *arch, ms_diag *diag)
{
    const ms_node *a = ms_node_get(root, "architectures");
    if (!a)
        return config_error(diag, file, root, "config.json has no 'architectures'%s%s", "", "");
    if (a->kind != MS_NODE_SEQ || a->count != 1 || a->items[0]->kind != MS_NODE_SCALAR) {
        config_error(diag, file, a, "'architectures' must list one class name, not %s%s",
                     a->kind == MS_NODE_SEQ ? "a list of that length" : ms_node_type_name(a), "");
        ms_diag_hint(diag, "%s", supported);
        return MS_ERR_INVALID;
    }
    const ms_node *name = a->items[0];
    for (int i = 0; i < MS_ARCH_COUNT; i++)
        if (!strcmp(name->value, arch_names[i])) {
            *arch = (ms_arch)i;
            return MS_OK;
        }
    config_error(diag, file, name, "architecture '%s' is not supported%s", name->value, "");
    ms_diag_hint(diag, "%s", supported);
    return MS_ERR_INVALID;
}

/* Keys whose values would change the computation in ways modsim does not
 * implement: refused rather than silently computed differently. */
static ms_status config_unsupported(const ms_node *root, const char *file, ms_arch arch,
                                    ms_diag *diag)
{
    const ms_node *v = ms_node_get(root, "hidden_act");
    if (v && (v->kind != MS_NODE_SCALAR || strcmp(v->value, "silu"))) {
        config_error(diag, file, v, "'hidden_act' is %s; modsim computes the MLP with silu%s",
                     text_of(v), "");
        return MS_ERR_INVALID;
    }
    static const char *const flags[] = {"attention_bias", "mlp_bias"};
    for (size_t i = 0; i < 2; i++) {
        bool on;
        ms_status st = config_bool(root, file, flags[i], &on, diag);
        if (st != MS_OK)
            return st;
        if (on)
            return config_error(diag, file, ms_node_get(root, flags[i]),
                                "'%s' is true; modsim supports biases only as %s", flags[i],
                                arch == MS_ARCH_QWEN2 ? "Qwen2 has them" : "Qwen2's q/k/v_proj");
    }
    /* Qwen2's window applies to the layers from max_window_layers on */
    bool window;
    ms_status st = config_bool(root, file, "use_sliding_window", &window, diag);
    if (st == MS_OK && window && arch == MS_ARCH_QWEN2)
        return config_error(diag, file, ms_node_get(root, "use_sliding_window"),
                            "'use_sliding_window' is true; modsim computes Qwen2's attention "
                            "over the whole sequence%s%s",
                            "", "");
    return st;
}

/* rope_scaling: null, or Llama 3.1's {"rope_type": "llama3", "factor",
 * "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"}. */
static ms_status config_rope_scaling(const ms_node *root, const char *file, ms_rope_llama3 *out,
                                     ms_diag *diag)
{
    const ms_node *v = ms_node_get(root, "rope_scaling");
    if (!v || ms_node_is_null(v))
        return MS_OK;
    const ms_node *type = ms_node_get(v, "rope_type");
    if (!type)
        type = ms_node_get(v, "type");
    if (v->kind != MS_NODE_MAP || !type || type->kind != MS_NODE_SCALAR ||
        strcmp(type->value, "llama3")) {
        config_error(diag, file, type ? type : v, "'rope_scaling' of type %s is not supported%s",
                     type && type->kind == MS_NODE_SCALAR ? type->value : "(none)", "");
        ms_diag_hint(diag, "modsim computes rope_scaling null and rope_type \"llama3\"");
        return MS_ERR_INVALID;
    }
    static const char *const keys[] = {"factor", "low_freq_factor", "high_freq_factor",
                                       "original_max_position_embeddings"};
    double *fields[] = {&out->factor, &out->low_freq_factor, &out->high_freq_factor,
                        &out->original_max_position};
    for (size_t i = 0; i < 4; i++) {
        const ms_node *f = ms_node_get(v, keys[i]);
        if (!f)
            return config_error(diag, file, v, "'rope_scaling' has no '%s'%s", keys[i], "");
        if (!json_number(f, fields[i]) || *fields[i] <= 0)
            return config_error(diag, file, f,
                                "rope_scaling '%s' must be a number greater than 0, not %s",
                                keys[i], text_of(f));
    }
    if (out->high_freq_factor <= out->low_freq_factor)
        return config_error(diag, file, ms_node_get(v, "high_freq_factor"),
                            "rope_scaling 'high_freq_factor' must exceed 'low_freq_factor'%s%s", "",
                            "");
    return MS_OK;
}

static ms_status parse_config(const char *text, size_t len, const char *path, ms_model_spec *spec,
                              ms_arch *arch, bool *tied, ms_diag *diag)
{
    ms_doc *doc;
    ms_status st = ms_doc_parse_json(text, len, path, &doc, diag);
    if (st != MS_OK)
        return st;
    const char *file = ms_doc_file(doc);
    const ms_node *root = ms_doc_root(doc);
    if (!root || root->kind != MS_NODE_MAP) {
        st = config_error(diag, file, root, "config.json must be an object, not %s%s",
                          root ? ms_node_type_name(root) : "empty", "");
        goto done;
    }
    st = config_arch(root, file, arch, diag);
    if (st == MS_OK)
        st = config_unsupported(root, file, *arch, diag);
    ms_model_spec s = {0};
    if (st == MS_OK)
        st = config_int(root, file, "hidden_size", 1, MAX_DIM, -1, &s.hidden_size, diag);
    if (st == MS_OK)
        st =
            config_int(root, file, "intermediate_size", 1, MAX_DIM, -1, &s.intermediate_size, diag);
    if (st == MS_OK)
        st = config_int(root, file, "num_hidden_layers", 1, MAX_LAYERS, -1, &s.num_layers, diag);
    if (st == MS_OK)
        st = config_int(root, file, "num_attention_heads", 1, MAX_DIM, -1, &s.num_heads, diag);
    /* transformers: num_key_value_heads None means multi-head attention. */
    if (st == MS_OK)
        st = config_int(root, file, "num_key_value_heads", 1, MAX_DIM, s.num_heads, &s.num_kv_heads,
                        diag);
    if (st == MS_OK)
        st = config_int(root, file, "vocab_size", 1, MAX_DIM, -1, &s.vocab_size, diag);
    if (st == MS_OK)
        st = config_real(root, file, "rope_theta", 10000.0, &s.rope_theta, diag);
    /* LlamaConfig, MistralConfig and Qwen2Config all default to 1e-6. */
    if (st == MS_OK)
        st = config_real(root, file, "rms_norm_eps", 1e-6, &s.rms_norm_eps, diag);
    if (st == MS_OK)
        st = config_bool(root, file, "tie_word_embeddings", tied, diag);
    if (st == MS_OK)
        st = config_rope_scaling(root, file, &s.rope_llama3, diag);
    /* MistralConfig's sliding_window (null: none); LlamaConfig has none,
     * and Qwen2's applies only with use_sliding_window, refused above. */
    if (st == MS_OK && *arch == MS_ARCH_MISTRAL)
        st = config_int(root, file, "sliding_window", 1, 1LL << 40, 0, &s.sliding_window, diag);
    if (st != MS_OK)
        goto done;
    const ms_node *heads = ms_node_get(root, "num_attention_heads");
    if (s.hidden_size % s.num_heads || (s.hidden_size / s.num_heads) % 2) {
        st = config_error(diag, file, heads,
                          "hidden_size is not num_attention_heads %s times an even head size%s",
                          heads->value, "");
        goto done;
    }
    long long head_dim;
    st = config_int(root, file, "head_dim", 1, MAX_DIM, s.hidden_size / s.num_heads, &head_dim,
                    diag);
    if (st == MS_OK && head_dim != s.hidden_size / s.num_heads) {
        st = config_error(diag, file, ms_node_get(root, "head_dim"),
                          "'head_dim' %s differs from hidden_size / num_attention_heads; modsim "
                          "supports only that head size%s",
                          ms_node_get(root, "head_dim")->value, "");
        goto done;
    }
    if (st == MS_OK && s.num_heads % s.num_kv_heads) {
        st = config_error(diag, file, ms_node_get(root, "num_key_value_heads"),
                          "num_key_value_heads does not divide num_attention_heads %s%s",
                          heads->value, "");
        goto done;
    }
    double h = (double)s.hidden_size, kvd = h / (double)s.num_heads * (double)s.num_kv_heads;
    double params = (h * (2 * h + 2 * kvd) + 3 * h * (double)s.intermediate_size + 2 * h) *
                        (double)s.num_layers +
                    (*tied ? 1 : 2) * h * (double)s.vocab_size + h;
    if (st == MS_OK && params > MAX_PARAMS) {
        st = ms_diag_set(diag, MS_ERR_LIMIT, "E-MODEL-SPEC", file, root->line, root->col,
                         "the config describes %.0f parameters, more than modsim's limit of %.0f",
                         params, MAX_PARAMS);
        goto done;
    }
    if (st == MS_OK)
        *spec = s;
done:
    ms_doc_free(doc);
    return st;
}

static ms_status read_config(const char *path, ms_model_spec *spec, ms_arch *arch, bool *tied,
                             ms_diag *diag)
{
    char *text;
    size_t len;
    ms_status st = ms_read_file(path, MAX_CONFIG_BYTES, &text, &len, diag);
    if (st != MS_OK)
        return st;
    st = parse_config(text, len, path, spec, arch, tied, diag);
    free(text);
    return st;
}

ms_status ms_model_hf_config_parse(const char *text, size_t len, const char *file,
                                   ms_hf_config *out, ms_diag *diag)
{
    ms_arch arch;
    ms_hf_config c = {0};
    ms_status st = parse_config(text, len, file, &c.spec, &arch, &c.tied, diag);
    if (st != MS_OK)
        return st;
    c.architecture = arch_names[arch];
    c.qkv_bias = arch == MS_ARCH_QWEN2;
    *out = c;
    return MS_OK;
}

/* ---- weights ------------------------------------------------------------- */

/* Two passes over the files: the first checks every tensor and takes each
 * weight's dtype (so that storage follows the checkpoint's), the second,
 * once the storage is allocated, copies the values. */
typedef struct loader {
    ms_model *m;
    bool copy;           /* the second pass */
    unsigned char *done; /* per module: 1 weight found, 2 bias found */
} loader;

static bool module_of(const ms_model *m, const char *tensor, size_t *index, bool *bias)
{
    size_t n = strlen(tensor);
    char name[MS_MODULE_NAME_MAX];
    if (n > 7 && !strcmp(tensor + n - 7, ".weight") && n - 7 < sizeof name)
        *bias = false, n -= 7;
    else if (n > 5 && !strcmp(tensor + n - 5, ".bias") && n - 5 < sizeof name)
        *bias = true, n -= 5;
    else
        return false;
    memcpy(name, tensor, n);
    name[n] = 0;
    return ms_model_find(m, name, index);
}

static void shape_text(const size_t *shape, size_t ndim, char *out, size_t size)
{
    size_t len = (size_t)snprintf(out, size, "[");
    for (size_t d = 0; d < ndim && len < size; d++)
        len += (size_t)snprintf(out + len, size - len, "%s%zu", d ? ", " : "", shape[d]);
    if (len < size)
        snprintf(out + len, size - len, "]");
}

static ms_status load_file(loader *lo, const char *path, ms_diag *diag)
{
    ms_st_file *f;
    ms_status st = ms_st_open(path, &f, diag);
    if (st != MS_OK)
        return st;
    ms_model *m = lo->m;
    for (size_t i = 0; i < ms_st_count(f) && st == MS_OK; i++) {
        const ms_st_tensor *t = ms_st_at(f, i);
        static const char inv_freq[] = "rotary_emb.inv_freq";
        size_t n = strlen(t->name), nf = sizeof inv_freq - 1;
        /* Older checkpoints store the rotary frequencies, which follow from
         * rope_theta; a tied lm_head is the embedding. */
        if ((n >= nf && !strcmp(t->name + n - nf, inv_freq)) ||
            (m->tied && !strcmp(t->name, "lm_head.weight")))
            continue;
        size_t ix;
        bool bias;
        const ms_module *mod = NULL;
        if (module_of(m, t->name, &ix, &bias))
            mod = ms_model_module(m, ix);
        if (!mod || (bias ? !mod->bias : !mod->ndim)) {
            st = ms_diag_set(diag, MS_ERR_INVALID, "E-WEIGHTS", path, 0, 0,
                             "tensor '%s' is not a parameter of this %s", t->name,
                             m->modules[0].class_name);
            ms_diag_hint(diag, "config.json must describe the checkpoint (architecture, sizes, "
                               "tie_word_embeddings)");
            break;
        }
        if (t->dtype != MS_ST_F32 && t->dtype != MS_ST_F16 && t->dtype != MS_ST_BF16) {
            st = ms_diag_set(diag, MS_ERR_INVALID, "E-WEIGHTS", path, 0, 0,
                             "tensor '%s' is %s; modsim reads F32, F16 and BF16 weights", t->name,
                             ms_st_dtype_name(t->dtype));
            break;
        }
        size_t want_ndim = bias ? 1 : mod->ndim;
        bool same = t->ndim == want_ndim;
        for (size_t d = 0; same && d < want_ndim; d++)
            same = t->shape[d] == mod->shape[d];
        if (!same) {
            char have[160], want[64];
            shape_text(t->shape, t->ndim, have, sizeof have);
            shape_text(mod->shape, want_ndim, want, sizeof want);
            st = ms_diag_set(diag, MS_ERR_INVALID, "E-WEIGHTS", path, 0, 0,
                             "tensor '%s' has shape %s, config.json gives %s", t->name, have, want);
            break;
        }
        if (lo->copy) {
            st = ms_model_store_tensor(m, ix, bias, f, t, diag);
            /* the file's pages go once copied: memory holds the weights once */
            ms_st_release(f, t);
        } else if (!bias)
            m->dtypes[ix] = t->dtype;
        lo->done[ix] |= bias ? 2 : 1;
    }
    ms_st_close(f);
    return st;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* The shard files of an index's weight_map, each once, in first-seen order. */
static ms_status load_index(loader *lo, const char *dir, const char *index_path, ms_diag *diag)
{
    ms_doc *doc;
    ms_status st = ms_doc_load_file(index_path, MAX_CONFIG_BYTES, &doc, diag);
    if (st != MS_OK)
        return st;
    const char *file = ms_doc_file(doc);
    const ms_node *map = ms_node_get(ms_doc_root(doc), "weight_map");
    if (!map || map->kind != MS_NODE_MAP) {
        st = config_error(diag, file, map ? map : ms_doc_root(doc),
                          "the index needs a 'weight_map' object of tensor names to shard "
                          "files%s%s",
                          "", "");
        ms_doc_free(doc);
        return st;
    }
    for (size_t i = 0; i < map->count && st == MS_OK; i++) {
        const ms_node *v = map->items[i];
        if (v->kind != MS_NODE_SCALAR || !v->quoted || strchr(v->value, '/') || !*v->value) {
            st = config_error(diag, file, v,
                              "weight_map['%s'] must name a shard file in the checkpoint's "
                              "folder, not %s",
                              map->keys[i]->value, text_of(v));
            break;
        }
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(map->items[j]->value, v->value);
        if (seen)
            continue;
        char *path = join(dir, v->value);
        st = path ? load_file(lo, path, diag) : MS_ERR_NOMEM;
        free(path);
    }
    ms_doc_free(doc);
    return st;
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

ms_status ms_model_hf_open(const char *dir, ms_model **out, ms_diag *diag)
{
    char *config = join(dir, "config.json"), *index = join(dir, "model.safetensors.index.json"),
         *single = join(dir, "model.safetensors");
    ms_model *m = NULL;
    loader lo = {0};
    ms_diag_clear(diag);
    ms_status st = config && index && single ? MS_OK : MS_ERR_NOMEM;
    if (st == MS_OK && !exists(config)) {
        st = ms_diag_set(diag, MS_ERR_IO, "E-IO", dir, 0, 0,
                         "the folder has no config.json: not a Hugging Face checkpoint");
        ms_diag_hint(diag, "--model takes tiny, small, a model spec YAML file or a Hugging Face "
                           "checkpoint directory");
    }
    ms_model_spec spec;
    ms_arch arch = MS_ARCH_LLAMA;
    bool tied = false;
    if (st == MS_OK)
        st = read_config(config, &spec, &arch, &tied, diag);
    if (st == MS_OK)
        st = ms_model_alloc_modules(&spec, arch, tied, arch == MS_ARCH_QWEN2, &m, diag);
    if (st == MS_OK) {
        lo.m = m;
        lo.done = calloc(m->n_modules, 1);
        st = lo.done ? MS_OK : MS_ERR_NOMEM;
    }
    bool indexed = st == MS_OK && exists(index);
    for (int pass = 0; pass < 2 && st == MS_OK; pass++) {
        lo.copy = pass == 1;
        if (indexed)
            st = load_index(&lo, dir, index, diag);
        else if (exists(single))
            st = load_file(&lo, single, diag);
        else {
            st = ms_diag_set(diag, MS_ERR_IO, "E-IO", dir, 0, 0,
                             "the folder has no model.safetensors or "
                             "model.safetensors.index.json");
            ms_diag_hint(diag, "modsim reads safetensors weights, not .bin or .pt files");
        }
        for (size_t i = 0; pass == 0 && st == MS_OK && i < m->n_modules; i++) {
            const ms_module *mod = &m->modules[i];
            bool need_w = mod->ndim && !(tied && i == m->lm_head), need_b = mod->bias != NULL;
            if ((need_w && !(lo.done[i] & 1)) || (need_b && !(lo.done[i] & 2))) {
                st = ms_diag_set(diag, MS_ERR_INVALID, "E-WEIGHTS", indexed ? index : single, 0, 0,
                                 "the checkpoint has no '%s.%s'", mod->name,
                                 need_w && !(lo.done[i] & 1) ? "weight" : "bias");
                if (i == m->lm_head)
                    ms_diag_hint(diag, "a checkpoint without lm_head.weight has "
                                       "\"tie_word_embeddings\": true in config.json");
            }
        }
        if (pass == 0 && st == MS_OK)
            st = ms_model_alloc_storage(m, diag);
    }
    if (st == MS_ERR_NOMEM && !diag->message[0])
        ms_diag_set(diag, st, "E-NOMEM", dir, 0, 0, "out of memory");
    free(lo.done);
    free(config);
    free(index);
    free(single);
    if (st == MS_OK)
        *out = m;
    else
        ms_model_free(m);
    return st;
}
