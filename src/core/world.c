#include "world.h"

#include <string.h>

static void modelless_attach(void *self, void *state, size_t modifier)
{
    (void)self;
    (void)modifier;
    size_t n;
    memcpy(&n, state, sizeof n);
    n++;
    memcpy(state, &n, sizeof n);
}

static size_t modelless_attached(const void *self, const void *state)
{
    (void)self;
    size_t n;
    memcpy(&n, state, sizeof n);
    return n;
}

/* Without a model there are no weights to mask, inputs to observe or
 * modules to compress. */
static void modelless_apply_mask(void *self, void *state, size_t modifier, double sparsity)
{
    (void)self;
    (void)state;
    (void)modifier;
    (void)sparsity;
}

static void modelless_observe(void *self, void *state, size_t modifier)
{
    (void)self;
    (void)state;
    (void)modifier;
}

static void modelless_compress(void *self, void *state, size_t modifier)
{
    (void)self;
    (void)state;
    (void)modifier;
}

static const ms_world_ops modelless_ops = {
    .name = "model-less",
    .state_size = sizeof(size_t),
    .attach_quant_scheme = modelless_attach,
    .quant_schemes_attached = modelless_attached,
    .apply_mask = modelless_apply_mask,
    .observe_inputs = modelless_observe,
    .compress = modelless_compress,
};

ms_world ms_world_modelless(void)
{
    return (ms_world){.ops = &modelless_ops, .self = NULL};
}
