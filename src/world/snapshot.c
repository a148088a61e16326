#include "snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "../util/array.h"
#include "world_model_impl.h"

/* One value a module's weight took: from position `pos` on, until a later
 * version. `data` (the weight's stored bytes, in its storage dtype) NULL:
 * the uncompressed weight (the world's base copy). */
typedef struct version {
    size_t pos;
    uint64_t sum;
    void *data;
} version;

typedef struct module_versions {
    version *v;
    size_t n, cap;
} module_versions;

/* Per modifier, what its calls change in the world. */
typedef struct mod_state {
    double sparsity; /* MagnitudePruning's scheduled sparsity */
    bool observing, hooked;
    size_t sequential;
    bool *done;
} mod_state;

/* The world's state at one position, weights aside; a position whose
 * state equals the one before shares that one's (most calls change none). */
typedef struct position {
    uint64_t sum;
    size_t state; /* the position whose arrays hold this one's state */
    int *owner, *bits;
    const ms_quant_args **scheme;
    const wm_group **group;
    float *in_scale, *in_zp; /* static input qparams */
    bool *in_ready;
    const ms_act_args *kv;   /* the kv_cache_scheme attached */
    float *kv_scale, *kv_zp; /* per layer, k and v */
    bool *kv_ready;
    const unsigned char **mask;
    const ms_world_qparams **qparams;
    char **note;
    mod_state *mods;
    ms_status error;
    ms_diag *error_diag; /* when error is not MS_OK */
} position;

struct ms_world_snapshots {
    ms_world_model *wm;
    module_versions *modules;
    position *pos;
    size_t npos, cap; /* recorded: positions 0 .. npos - 1 */
    uint64_t *first;  /* the checksum when each position was first reached */
    size_t nfirst, first_cap;
    void *scratch; /* the largest weight's stored bytes */
    size_t bytes;
    size_t writes; /* the world's weight writes when the top was recorded */
};

enum { FNV_OFFSET = 0xcbf29ce484222325ull, FNV_PRIME = 0x100000001b3ull };

/* FNV over the stored values, a 16- or 32-bit word each. */
static uint64_t hash_words(uint64_t h, const void *x, size_t n, size_t size)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = 0;
        if (size == 2) {
            uint16_t b16;
            memcpy(&b16, (const char *)x + 2 * i, sizeof b16);
            bits = b16;
        } else
            memcpy(&bits, (const char *)x + 4 * i, sizeof bits);
        h = (h ^ bits) * FNV_PRIME;
    }
    return h;
}

static uint64_t combine(const uint64_t *sums, size_t n)
{
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < n; i++)
        h = (h ^ sums[i]) * FNV_PRIME;
    return h;
}

/* A module's weight as it is now (its stored bytes), hashed; the bytes
 * stay in `buf`. */
static uint64_t module_sum(const ms_model *model, size_t i, void *buf)
{
    size_t n = ms_module_numel(ms_model_module(model, i));
    if (!n)
        return FNV_OFFSET;
    ms_model_weight_get_stored(model, i, buf);
    return hash_words(FNV_OFFSET, buf, n, ms_model_weight_bytes(model, i) / n);
}

static void *max_buffer(const ms_model *model)
{
    size_t max = 1;
    for (size_t i = 0; i < ms_model_module_count(model); i++) {
        size_t n = ms_model_weight_bytes(model, i);
        max = n > max ? n : max;
    }
    return malloc(max);
}

uint64_t ms_world_model_checksum(const ms_world_model *wm)
{
    size_t n = ms_model_module_count(wm->model);
    uint64_t *sums = calloc(n ? n : 1, sizeof *sums);
    void *buf = max_buffer(wm->model);
    uint64_t h = 0;
    if (sums && buf) {
        for (size_t i = 0; i < n; i++)
            sums[i] = module_sum(wm->model, i, buf);
        h = combine(sums, n);
    }
    free(sums);
    free(buf);
    return h;
}

static const version *current(const module_versions *mv)
{
    return &mv->v[mv->n - 1];
}

static void free_position(const ms_world_model *wm, position *p)
{
    for (size_t i = 0; p->note && i < wm->nmodules; i++)
        free(p->note[i]);
    for (size_t m = 0; p->mods && m < wm->nmods; m++)
        free(p->mods[m].done);
    free(p->owner);
    free(p->bits);
    free(p->scheme);
    free(p->group);
    free(p->in_scale);
    free(p->in_zp);
    free(p->in_ready);
    free(p->kv_scale);
    free(p->kv_zp);
    free(p->kv_ready);
    free(p->mask);
    free(p->qparams);
    free(p->note);
    free(p->mods);
    free(p->error_diag);
    memset(p, 0, sizeof *p);
}

static size_t nlayers(const ms_world_model *wm)
{
    return (size_t)ms_model_get_spec(wm->model)->num_layers;
}

static size_t position_bytes(const ms_world_model *wm, const position *p)
{
    size_t b =
        wm->nmodules * (2 * sizeof(int) + sizeof(void *) * 5 + 2 * sizeof(float) + sizeof(bool)) +
        wm->nmods * sizeof(mod_state) + nlayers(wm) * (4 * sizeof(float) + sizeof(bool));
    for (size_t i = 0; i < wm->nmodules; i++)
        b += p->note[i] ? strlen(p->note[i]) + 1 : 0;
    for (size_t m = 0; m < wm->nmods; m++)
        b += wm->mods[m].match.count;
    return b;
}

/* The world's state now, weights aside, into `p`. */
static ms_status save_position(const ms_world_model *wm, position *p)
{
    size_t n = wm->nmodules ? wm->nmodules : 1, nm = wm->nmods ? wm->nmods : 1;
    p->owner = malloc(n * sizeof *p->owner);
    p->bits = malloc(n * sizeof *p->bits);
    p->scheme = malloc(n * sizeof *p->scheme);
    p->group = malloc(n * sizeof *p->group);
    p->in_scale = malloc(n * sizeof *p->in_scale);
    p->in_zp = malloc(n * sizeof *p->in_zp);
    p->in_ready = malloc(n * sizeof *p->in_ready);
    size_t nl = nlayers(wm) ? nlayers(wm) : 1;
    p->kv_scale = malloc(2 * nl * sizeof *p->kv_scale);
    p->kv_zp = malloc(2 * nl * sizeof *p->kv_zp);
    p->kv_ready = malloc(nl * sizeof *p->kv_ready);
    p->note = calloc(n, sizeof *p->note);
    p->mods = calloc(nm, sizeof *p->mods);
    if (!p->kv_scale || !p->kv_zp || !p->kv_ready)
        return MS_ERR_NOMEM;
    p->kv = wm->kv;
    memcpy(p->kv_scale, wm->kv_scale, 2 * nlayers(wm) * sizeof *p->kv_scale);
    memcpy(p->kv_zp, wm->kv_zp, 2 * nlayers(wm) * sizeof *p->kv_zp);
    memcpy(p->kv_ready, wm->kv_ready, nlayers(wm) * sizeof *p->kv_ready);
    p->mask = malloc(n * sizeof *p->mask);
    p->qparams = malloc(n * sizeof *p->qparams);
    if (!p->owner || !p->bits || !p->scheme || !p->group || !p->in_scale || !p->in_zp ||
        !p->in_ready || !p->mask || !p->qparams || !p->note || !p->mods)
        return MS_ERR_NOMEM;
    memcpy(p->owner, wm->owner, wm->nmodules * sizeof *p->owner);
    memcpy(p->bits, wm->bits, wm->nmodules * sizeof *p->bits);
    memcpy(p->scheme, wm->scheme, wm->nmodules * sizeof *p->scheme);
    memcpy(p->group, wm->group, wm->nmodules * sizeof *p->group);
    memcpy(p->in_scale, wm->in_scale, wm->nmodules * sizeof *p->in_scale);
    memcpy(p->in_zp, wm->in_zp, wm->nmodules * sizeof *p->in_zp);
    memcpy(p->in_ready, wm->in_ready, wm->nmodules * sizeof *p->in_ready);
    memcpy(p->mask, wm->mask, wm->nmodules * sizeof *p->mask);
    memcpy(p->qparams, wm->qparams, wm->nmodules * sizeof *p->qparams);
    for (size_t i = 0; i < wm->nmodules; i++)
        if (wm->note[i] && !(p->note[i] = strdup(wm->note[i])))
            return MS_ERR_NOMEM;
    for (size_t m = 0; m < wm->nmods; m++) {
        const wm_modifier *wmod = &wm->mods[m];
        mod_state *ms = &p->mods[m];
        ms->sparsity = wmod->opts.prune.sparsity;
        ms->observing = wmod->observing;
        ms->hooked = wmod->hooked;
        ms->sequential = wmod->sequential;
        if (wmod->done) {
            ms->done = malloc(wmod->match.count * sizeof *ms->done);
            if (!ms->done)
                return MS_ERR_NOMEM;
            memcpy(ms->done, wmod->done, wmod->match.count * sizeof *ms->done);
        }
    }
    p->error = wm->error;
    if (wm->error != MS_OK) {
        p->error_diag = malloc(sizeof *p->error_diag);
        if (!p->error_diag)
            return MS_ERR_NOMEM;
        *p->error_diag = wm->error_diag;
    }
    return MS_OK;
}

static bool same_state(const ms_world_model *wm, const position *a, const position *b)
{
    if (memcmp(a->owner, b->owner, wm->nmodules * sizeof *a->owner) ||
        memcmp(a->bits, b->bits, wm->nmodules * sizeof *a->bits) ||
        memcmp(a->scheme, b->scheme, wm->nmodules * sizeof *a->scheme) ||
        memcmp(a->group, b->group, wm->nmodules * sizeof *a->group) ||
        memcmp(a->in_scale, b->in_scale, wm->nmodules * sizeof *a->in_scale) ||
        memcmp(a->in_zp, b->in_zp, wm->nmodules * sizeof *a->in_zp) ||
        memcmp(a->in_ready, b->in_ready, wm->nmodules * sizeof *a->in_ready) || a->kv != b->kv ||
        memcmp(a->kv_scale, b->kv_scale, 2 * nlayers(wm) * sizeof *a->kv_scale) ||
        memcmp(a->kv_zp, b->kv_zp, 2 * nlayers(wm) * sizeof *a->kv_zp) ||
        memcmp(a->kv_ready, b->kv_ready, nlayers(wm) * sizeof *a->kv_ready) ||
        memcmp(a->mask, b->mask, wm->nmodules * sizeof *a->mask) ||
        memcmp(a->qparams, b->qparams, wm->nmodules * sizeof *a->qparams) || a->error != b->error)
        return false;
    for (size_t i = 0; i < wm->nmodules; i++)
        if (!a->note[i] != !b->note[i] || (a->note[i] && strcmp(a->note[i], b->note[i])))
            return false;
    for (size_t m = 0; m < wm->nmods; m++) {
        const mod_state *x = &a->mods[m], *y = &b->mods[m];
        if (x->sparsity != y->sparsity || x->observing != y->observing || x->hooked != y->hooked ||
            x->sequential != y->sequential ||
            (x->done && memcmp(x->done, y->done, wm->mods[m].match.count * sizeof *x->done)))
            return false;
    }
    return true;
}

static ms_status restore_position(ms_world_model *wm, const position *p)
{
    memcpy(wm->owner, p->owner, wm->nmodules * sizeof *p->owner);
    memcpy(wm->bits, p->bits, wm->nmodules * sizeof *p->bits);
    memcpy(wm->scheme, p->scheme, wm->nmodules * sizeof *p->scheme);
    memcpy(wm->group, p->group, wm->nmodules * sizeof *p->group);
    memcpy(wm->in_scale, p->in_scale, wm->nmodules * sizeof *p->in_scale);
    memcpy(wm->in_zp, p->in_zp, wm->nmodules * sizeof *p->in_zp);
    memcpy(wm->in_ready, p->in_ready, wm->nmodules * sizeof *p->in_ready);
    wm->kv = p->kv;
    memcpy(wm->kv_scale, p->kv_scale, 2 * nlayers(wm) * sizeof *p->kv_scale);
    memcpy(wm->kv_zp, p->kv_zp, 2 * nlayers(wm) * sizeof *p->kv_zp);
    memcpy(wm->kv_ready, p->kv_ready, nlayers(wm) * sizeof *p->kv_ready);
    memcpy(wm->mask, p->mask, wm->nmodules * sizeof *p->mask);
    memcpy(wm->qparams, p->qparams, wm->nmodules * sizeof *p->qparams);
    for (size_t i = 0; i < wm->nmodules; i++) {
        free(wm->note[i]);
        wm->note[i] = NULL;
        if (p->note[i] && !(wm->note[i] = strdup(p->note[i])))
            return MS_ERR_NOMEM;
    }
    for (size_t m = 0; m < wm->nmods; m++) {
        wm_modifier *wmod = &wm->mods[m];
        const mod_state *ms = &p->mods[m];
        wmod->opts.prune.sparsity = ms->sparsity;
        wmod->observing = ms->observing;
        wmod->hooked = ms->hooked;
        wmod->sequential = ms->sequential;
        if (wmod->done)
            memcpy(wmod->done, ms->done, wmod->match.count * sizeof *ms->done);
    }
    wm->error = p->error;
    if (p->error_diag)
        wm->error_diag = *p->error_diag;
    /* the cache is rebuilt from the weights when a call asks for it */
    ms_world_model_drop_inputs(wm);
    return MS_OK;
}

/* Records the state now as position npos, its checksum `sum`. */
static ms_status add_position(ms_world_snapshots *s, uint64_t sum)
{
    if (!ms_array_reserve(&s->pos, &s->cap, s->npos, sizeof *s->pos))
        return MS_ERR_NOMEM;
    if (s->npos >= s->nfirst) {
        if (!ms_array_reserve(&s->first, &s->first_cap, s->npos, sizeof *s->first))
            return MS_ERR_NOMEM;
        s->first[s->npos] = sum;
        s->nfirst = s->npos + 1;
    }
    position *p = &s->pos[s->npos];
    memset(p, 0, sizeof *p);
    ms_status st = save_position(s->wm, p);
    if (st != MS_OK) {
        free_position(s->wm, p);
        return st;
    }
    p->sum = sum;
    p->state = s->npos;
    if (s->npos) {
        const position *prev = &s->pos[s->pos[s->npos - 1].state];
        if (same_state(s->wm, p, prev)) {
            free_position(s->wm, p);
            p->sum = sum;
            p->state = s->pos[s->npos - 1].state;
        }
    }
    if (p->state == s->npos)
        s->bytes += position_bytes(s->wm, p);
    s->bytes += sizeof *p;
    s->npos++;
    return MS_OK;
}

static ms_status push_version(module_versions *mv, size_t pos, uint64_t sum, void *data)
{
    if (!ms_array_reserve(&mv->v, &mv->cap, mv->n, sizeof *mv->v))
        return MS_ERR_NOMEM;
    mv->v[mv->n++] = (version){pos, sum, data};
    return MS_OK;
}

ms_status ms_world_snapshots_new(ms_world_model *wm, ms_world_snapshots **out, ms_diag *diag)
{
    (void)diag;
    *out = NULL;
    ms_world_snapshots *s = calloc(1, sizeof *s);
    size_t n = wm->nmodules;
    uint64_t *sums = calloc(n ? n : 1, sizeof *sums);
    if (!s || !sums) {
        free(s);
        free(sums);
        return MS_ERR_NOMEM;
    }
    s->wm = wm;
    s->modules = calloc(n ? n : 1, sizeof *s->modules);
    s->scratch = max_buffer(wm->model);
    ms_status st = s->modules && s->scratch ? MS_OK : MS_ERR_NOMEM;
    for (size_t i = 0; st == MS_OK && i < n; i++) {
        sums[i] = module_sum(wm->model, i, s->scratch);
        /* a weight a run changed before the snapshots began is copied */
        void *data = NULL;
        size_t bytes = ms_model_weight_bytes(wm->model, i);
        if (bytes && sums[i] != module_sum(wm->base, i, s->scratch)) {
            data = malloc(bytes);
            if (!data) {
                st = MS_ERR_NOMEM;
                break;
            }
            ms_model_weight_get_stored(wm->model, i, data);
            s->bytes += bytes;
        }
        st = push_version(&s->modules[i], 0, sums[i], data);
        if (st != MS_OK)
            free(data);
    }
    if (st == MS_OK)
        st = add_position(s, combine(sums, n));
    free(sums);
    s->writes = wm->changes;
    if (st != MS_OK) {
        ms_world_snapshots_free(s);
        return st;
    }
    *out = s;
    return MS_OK;
}

void ms_world_snapshots_free(ms_world_snapshots *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->modules && i < s->wm->nmodules; i++) {
        for (size_t k = 0; k < s->modules[i].n; k++)
            free(s->modules[i].v[k].data);
        free(s->modules[i].v);
    }
    for (size_t p = 0; p < s->npos; p++)
        if (s->pos[p].state == p)
            free_position(s->wm, &s->pos[p]);
    free(s->modules);
    free(s->pos);
    free(s->first);
    free(s->scratch);
    free(s);
}

ms_status ms_world_snapshots_push(ms_world_snapshots *s, ms_diag *diag)
{
    (void)diag;
    const ms_world_model *wm = s->wm;
    size_t n = wm->nmodules, pos = s->npos;
    uint64_t *sums = calloc(n ? n : 1, sizeof *sums);
    if (!sums)
        return MS_ERR_NOMEM;
    ms_status st = MS_OK;
    for (size_t i = 0; st == MS_OK && i < n; i++) {
        sums[i] = module_sum(wm->model, i, s->scratch);
        if (sums[i] == current(&s->modules[i])->sum)
            continue;
        size_t bytes = ms_model_weight_bytes(wm->model, i);
        void *data = malloc(bytes);
        if (!data) {
            st = MS_ERR_NOMEM;
            break;
        }
        memcpy(data, s->scratch, bytes);
        st = push_version(&s->modules[i], pos, sums[i], data);
        if (st != MS_OK)
            free(data);
        else
            s->bytes += bytes;
    }
    if (st == MS_OK)
        st = add_position(s, combine(sums, n));
    free(sums);
    if (st == MS_OK)
        s->writes = wm->changes;
    if (st != MS_OK)
        /* the versions pushed at `pos` go again: the snapshots stay at pos - 1 */
        for (size_t i = 0; i < n; i++) {
            module_versions *mv = &s->modules[i];
            if (mv->n > 1 && current(mv)->pos == pos) {
                s->bytes -= ms_model_weight_bytes(wm->model, i);
                free(mv->v[--mv->n].data);
            }
        }
    return st;
}

ms_status ms_world_snapshots_push_unchanged(ms_world_snapshots *s, ms_diag *diag)
{
    (void)diag;
    ms_status st = add_position(s, s->pos[s->npos - 1].sum);
    if (st == MS_OK)
        s->writes = s->wm->changes;
    return st;
}

size_t ms_world_snapshots_top(const ms_world_snapshots *s)
{
    return s->npos - 1;
}

ms_status ms_world_snapshots_restore(ms_world_snapshots *s, size_t pos, ms_diag *diag)
{
    (void)diag;
    ms_world_model *wm = s->wm;
    if (pos >= s->npos)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-WORLD-RESTORE", NULL, 0, 0,
                           "position %zu was not recorded (recorded: 0 to %zu)", pos, s->npos - 1);
    /* weights written since the top was recorded (a call stopped midway)
     * are found by their checksums */
    bool dirty = wm->changes != s->writes;
    for (size_t i = 0; i < wm->nmodules; i++) {
        module_versions *mv = &s->modules[i];
        size_t bytes = ms_model_weight_bytes(wm->model, i);
        bool changed = false;
        while (mv->n > 1 && current(mv)->pos > pos) {
            free(mv->v[--mv->n].data);
            s->bytes -= bytes;
            changed = true;
        }
        if (!changed && !(dirty && module_sum(wm->model, i, s->scratch) != current(mv)->sum))
            continue;
        const version *v = current(mv);
        if (v->data) {
            ms_model_weight_set_stored(wm->model, i, v->data);
        } else {
            ms_model_weight_get_stored(wm->base, i, s->scratch);
            ms_model_weight_set_stored(wm->model, i, s->scratch);
        }
    }
    while (s->npos > pos + 1) {
        position *p = &s->pos[--s->npos];
        s->bytes -= sizeof *p;
        if (p->state == s->npos) {
            s->bytes -= position_bytes(wm, p);
            free_position(wm, p);
        }
    }
    s->writes = wm->changes;
    return restore_position(wm, &s->pos[s->pos[pos].state]);
}

uint64_t ms_world_snapshots_checksum(const ms_world_snapshots *s, size_t pos)
{
    return pos < s->npos ? s->pos[pos].sum : 0;
}

bool ms_world_snapshots_first_checksum(const ms_world_snapshots *s, size_t pos, uint64_t *sum)
{
    if (pos >= s->nfirst)
        return false;
    *sum = s->first[pos];
    return true;
}

size_t ms_world_snapshots_bytes(const ms_world_snapshots *s)
{
    return s->bytes;
}
