/* Writing a run out as a scenario file: what `modsim trace RECIPE
 * --emit-scenario` saves, so the same run can be traced, edited and shared. */
#include <math.h>
#include <stdio.h>

#include "scenario.h"

static void put_number(FILE *out, double v)
{
    if (isnan(v))
        fputs(".nan", out);
    else if (isinf(v))
        fputs(v > 0 ? ".inf" : "-.inf", out);
    else
        fprintf(out, "%.17g", v);
}

/* What a generated sequential_epoch_end passes as modules: in a pass with
 * one (basic, datafree) the whole model; in a sequential pass the subgraph
 * before the first decoder layer, then each layer's. */
static void put_modules(FILE *out, const ms_call *calls, size_t n, size_t i)
{
    size_t first = i, last = i;
    while (first > 0 && calls[first - 1].kind == MS_CALL_EVENT &&
           calls[first - 1].event.type == MS_EV_SEQUENTIAL_EPOCH_END)
        first--;
    while (last + 1 < n && calls[last + 1].kind == MS_CALL_EVENT &&
           calls[last + 1].event.type == MS_EV_SEQUENTIAL_EPOCH_END)
        last++;
    if (first == last)
        fputs(", modules: [model, lm_head]", out);
    else if (i == first)
        fputs(", modules: [model.embed_tokens]", out);
    else
        fprintf(out, ", layer: %zu", i - first - 1);
}

static void put_event(FILE *out, const ms_call *c, const ms_scenario_header *h)
{
    ms_index_mode mode = h->index_mode;
    fprintf(out, "event: %s", ms_event_type_name_in(c->event.type, h->upstream));
    if (mode == MS_INDEX_STEP && c->event.global_step)
        fprintf(out, ", global_step: %lld", c->event.global_step);
    if (mode == MS_INDEX_STEP && c->event.global_batch)
        fprintf(out, ", global_batch: %lld", c->event.global_batch);
    if (c->has_loss) {
        fputs(", loss: ", out);
        put_number(out, c->loss);
    }
}

ms_status ms_scenario_write(FILE *out, const ms_scenario_header *h, const char *recipe_yaml,
                            const ms_call *calls, size_t n)
{
    fprintf(out, "# %s\n", h->comment ? h->comment : "a modsim scenario");
    fprintf(out, "upstream: \"%s\"\n", ms_upstream_name(h->upstream));
    fprintf(out, "index: %s\n", h->index_mode == MS_INDEX_UPSTREAM ? "upstream" : "step");
    if (h->no_calibration_data)
        fputs("calibration_data: false\n", out);
    if (h->index_mode == MS_INDEX_STEP && (h->steps_per_epoch || h->batches_per_step)) {
        fputs("clock:\n", out);
        if (h->steps_per_epoch)
            fprintf(out, "  steps_per_epoch: %lld\n", h->steps_per_epoch);
        if (h->batches_per_step)
            fprintf(out, "  batches_per_step: %lld\n", h->batches_per_step);
    }
    /* a literal block keeps the recipe byte for byte (clip: one final newline) */
    fputs("recipe: |\n", out);
    for (const char *p = recipe_yaml; *p;) {
        const char *nl = p;
        while (*nl && *nl != '\n')
            nl++;
        if (nl > p)
            fprintf(out, "  %.*s", (int)(nl - p), p);
        fputc('\n', out);
        p = *nl ? nl + 1 : nl;
    }
    fputs("calls:\n", out);
    for (size_t i = 0; i < n; i++) {
        const ms_call *c = &calls[i];
        switch (c->kind) {
        case MS_CALL_INITIALIZE:
            fputs("  - initialize\n", out);
            break;
        case MS_CALL_FINALIZE:
            fputs("  - finalize\n", out);
            break;
        case MS_CALL_EVENT:
            fputs("  - {", out);
            put_event(out, c, h);
            if (c->event.has_modules)
                put_modules(out, calls, n, i);
            if (c->narrowed)
                fprintf(out, ", only: %zu", c->modifier);
            fputs("}\n", out);
            break;
        case MS_CALL_MODIFIER_INITIALIZE:
            fprintf(out, "  - {modifier: %zu, call: initialize}\n", c->modifier);
            break;
        case MS_CALL_MODIFIER_FINALIZE:
            fprintf(out, "  - {modifier: %zu, call: finalize}\n", c->modifier);
            break;
        case MS_CALL_MODIFIER_UPDATE_EVENT:
            fprintf(out, "  - {modifier: %zu, call: update_event, ", c->modifier);
            put_event(out, c, h);
            if (c->event.has_modules)
                put_modules(out, calls, n, i);
            fputs("}\n", out);
            break;
        }
    }
    return ferror(out) ? MS_ERR_IO : MS_OK;
}
