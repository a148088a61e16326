/* Going back in a model-backed run: the world as it was after each call,
 * kept so that a step back restores the weights and the world's state
 * exactly, and a checksum of all weights to show that it did.
 *
 * Memory: copy-on-write per module. The weights of position 0 are the
 * world's uncompressed copy (no extra memory); after each call a module's
 * weight is copied (as f32) only when the call changed it, so the cost is
 * the sum of the sizes of the modules each call changed, once per change,
 * plus the world's per-module state (owner, bits, ~25 bytes a module) for
 * each call that changed it and 72 bytes for every other call. Stepping
 * forward checksums every weight after each call that changed one, to find
 * which.
 * Restoring writes back only the modules that differ. */
#ifndef MS_WORLD_SNAPSHOT_H
#define MS_WORLD_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/status.h"
#include "world_model.h"

typedef struct ms_world_snapshots ms_world_snapshots;

/* Records the world as it is now as position 0. `wm` must outlive the
 * snapshots; nothing but ms_world_snapshots_push/restore may change it from
 * one recorded position to the next but the calls run in between. */
ms_status ms_world_snapshots_new(ms_world_model *wm, ms_world_snapshots **out, ms_diag *diag);
void ms_world_snapshots_free(ms_world_snapshots *s);

/* The world after one more call: records position top + 1. */
ms_status ms_world_snapshots_push(ms_world_snapshots *s, ms_diag *diag);
/* The same when the call changed no weight (the world reported no module
 * changed: world_model.h's sink), without reading the weights. */
ms_status ms_world_snapshots_push_unchanged(ms_world_snapshots *s, ms_diag *diag);
/* The last position recorded. */
size_t ms_world_snapshots_top(const ms_world_snapshots *s);
/* Puts the weights and the world's state back as they were at `pos`
 * (<= top), which becomes the top; weights written since the top was
 * recorded (a call stopped midway, ms_world_model_set_stop) go back too. The calibration inputs the
 * world cached are dropped: the next call that needs them collects them again. */
ms_status ms_world_snapshots_restore(ms_world_snapshots *s, size_t pos, ms_diag *diag);

/* The checksum of all weights at recorded position `pos` (<= top). */
uint64_t ms_world_snapshots_checksum(const ms_world_snapshots *s, size_t pos);
/* The checksum recorded when position `pos` was first reached; false when
 * it never was. A step back and forward again must give the same. */
bool ms_world_snapshots_first_checksum(const ms_world_snapshots *s, size_t pos, uint64_t *sum);
/* Bytes held for the recorded positions (weights copied and state). */
size_t ms_world_snapshots_bytes(const ms_world_snapshots *s);

/* FNV-1a 64 over the 32-bit patterns of every module's weight read as f32,
 * module by module, in module order. */
uint64_t ms_world_model_checksum(const ms_world_model *wm);

#endif
