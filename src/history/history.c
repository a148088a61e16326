/* The SQLite history of runs. */
#include "history.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/call.h"
#include "../core/modifier.h"
#include "../recipe/recipe.h"
#include "../scenario/scenario.h"
#include "../util/array.h"
#include "../util/json.h"
#include "chunk.h"

/* Calls per transaction while recording: large enough that commits (each a
 * WAL append) cost little, small enough that a killed run loses little. */
#define BATCH_CALLS 1024

/* Recipes have far fewer modifiers; a larger index in a file is damage. */
#define MAX_MODIFIER_INDEX 1000000

/* A writer waits this long for another writer before giving up. */
#define BUSY_TIMEOUT_MS 30000

struct ms_history {
    sqlite3 *db;
    int last_rc; /* of the last failure db_fail reported */
    char path[512];
};

static const char *const status_names[] = {"running", "completed", "failed", "interrupted",
                                           "cancelled"};

const char *ms_history_status_name(ms_history_status status)
{
    return (unsigned)status < sizeof status_names / sizeof *status_names ? status_names[status]
                                                                         : "unknown";
}

bool ms_history_status_parse(const char *name, ms_history_status *out)
{
    for (size_t i = 0; i < sizeof status_names / sizeof *status_names; i++)
        if (!strcmp(name, status_names[i])) {
            *out = (ms_history_status)i;
            return true;
        }
    return false;
}

bool ms_history_default_path(char *buf, size_t cap)
{
    const char *env = getenv("MODSIM_HISTORY");
    int n;
    if (env && *env)
        n = snprintf(buf, cap, "%s", env);
    else if ((env = getenv("XDG_STATE_HOME")) && *env)
        n = snprintf(buf, cap, "%s/modsim/history.db", env);
    else if ((env = getenv("HOME")) && *env)
        n = snprintf(buf, cap, "%s/.local/state/modsim/history.db", env);
    else
        return false;
    return n > 0 && (size_t)n < cap;
}

/* One script per schema version; a file at version k runs scripts k.. in
 * one transaction. */
static const char *const migrations[] = {
    "CREATE TABLE recipe(\n"
    "  hash TEXT PRIMARY KEY,\n"
    "  text TEXT NOT NULL);\n"
    "CREATE TABLE run(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  parent INTEGER REFERENCES run(id) ON DELETE SET NULL,\n"
    "  started INTEGER NOT NULL,\n"
    "  ended INTEGER,\n"
    "  status TEXT NOT NULL CHECK (status IN\n"
    "    ('running','completed','failed','interrupted','cancelled')),\n"
    "  pid INTEGER,\n"
    "  calls INTEGER NOT NULL DEFAULT 0,\n"
    "  modsim_version TEXT, profile TEXT,\n"
    "  recipe_hash TEXT REFERENCES recipe(hash), recipe_path TEXT, stage TEXT,\n"
    "  pipeline TEXT, clock TEXT, model TEXT, weights_hash TEXT, calibration TEXT,\n"
    "  seed INTEGER, threads INTEGER,\n"
    "  replay_hash TEXT REFERENCES recipe(hash),\n"
    "  index_mode TEXT, steps_per_epoch INTEGER, batches_per_step INTEGER,\n"
    "  calibration_data INTEGER);\n"
    "CREATE INDEX run_started ON run(started);\n"
    "CREATE TABLE modifier(\n"
    "  run INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,\n"
    "  idx INTEGER NOT NULL, type TEXT NOT NULL, grp TEXT,\n"
    "  PRIMARY KEY (run, idx)) WITHOUT ROWID;\n"
    "CREATE TABLE call(\n"
    "  run INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,\n"
    "  idx INTEGER NOT NULL, kind TEXT NOT NULL, modifier INTEGER, narrowed INTEGER,\n"
    "  event TEXT, global_step INTEGER, global_batch INTEGER, steps_per_epoch INTEGER,\n"
    "  batches_per_step INTEGER, epoch_based INTEGER, has_modules INTEGER, loss REAL,\n"
    "  PRIMARY KEY (run, idx)) WITHOUT ROWID;\n"
    "CREATE TABLE hook(\n"
    "  run INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,\n"
    "  call INTEGER NOT NULL, seq INTEGER NOT NULL, modifier INTEGER NOT NULL,\n"
    "  hook TEXT NOT NULL,\n"
    "  PRIMARY KEY (run, call, seq)) WITHOUT ROWID;\n"
    "CREATE TABLE transition(\n"
    "  run INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,\n"
    "  call INTEGER NOT NULL, modifier INTEGER NOT NULL,\n"
    "  before INTEGER NOT NULL, after INTEGER NOT NULL, weights_hash TEXT,\n"
    "  PRIMARY KEY (run, call, modifier)) WITHOUT ROWID;\n"
    "CREATE TABLE error(\n"
    "  run INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,\n"
    "  call INTEGER NOT NULL, seq INTEGER NOT NULL, modifier INTEGER,\n"
    "  kind TEXT NOT NULL, message TEXT NOT NULL,\n"
    "  PRIMARY KEY (run, call, seq)) WITHOUT ROWID;\n"
    "CREATE TABLE metric(\n"
    "  run INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,\n"
    "  call INTEGER NOT NULL, modifier INTEGER NOT NULL, module TEXT NOT NULL,\n"
    "  name TEXT NOT NULL, value REAL,\n"
    "  PRIMARY KEY (run, call, modifier, module, name)) WITHOUT ROWID;\n"
    /* the views README documents */
    "CREATE VIEW transitions AS\n"
    "  SELECT t.run, t.call, t.modifier, m.type, w.what, t.before, t.after\n"
    "  FROM transition t JOIN modifier m ON m.run = t.run AND m.idx = t.modifier\n"
    "  JOIN (SELECT 1 AS bit, 'initialized' AS what UNION ALL SELECT 2, 'started'\n"
    "        UNION ALL SELECT 4, 'ended' UNION ALL SELECT 8, 'finalized') w\n"
    "    ON t.after & ~t.before & w.bit\n"
    "  ORDER BY t.run, t.call, t.modifier, w.bit;\n"
    "CREATE VIEW never_started AS\n"
    "  SELECT m.run, m.idx AS modifier, m.type FROM modifier m\n"
    "  WHERE NOT EXISTS (SELECT 1 FROM transition t WHERE t.run = m.run\n"
    "                    AND t.modifier = m.idx AND t.after & 2);\n"
    "CREATE VIEW runs AS\n"
    "  SELECT r.id, datetime(r.started, 'unixepoch') AS started, r.status, r.calls,\n"
    "    r.recipe_path, r.profile, r.pipeline, r.model,\n"
    "    (SELECT count(*) FROM error e WHERE e.run = r.id) AS errors,\n"
    "    (SELECT count(*) FROM never_started n WHERE n.run = r.id) AS never_started\n"
    "  FROM run r ORDER BY r.id;\n"
    "CREATE VIEW errors AS\n"
    "  SELECT e.run, e.call, m.type, e.kind, e.message FROM error e\n"
    "  LEFT JOIN modifier m ON m.run = e.run AND m.idx = e.modifier\n"
    "  ORDER BY e.run, e.call, e.seq;\n",
    /* 2: what a run did to a model (modsim run): the final per-module table
     * and the model-level figures */
    "CREATE TABLE module(\n"
    "  run INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,\n"
    "  idx INTEGER NOT NULL, name TEXT NOT NULL, class TEXT, owner INTEGER,\n"
    "  sparsity REAL, bits INTEGER, rel_error REAL, note TEXT,\n"
    "  PRIMARY KEY (run, idx)) WITHOUT ROWID;\n"
    "CREATE TABLE figure(\n"
    "  run INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,\n"
    "  name TEXT NOT NULL, value REAL,\n"
    "  PRIMARY KEY (run, name)) WITHOUT ROWID;\n"
    "CREATE VIEW modules AS\n"
    "  SELECT x.run, x.idx, x.name AS module, x.class, x.owner, m.type AS modifier,\n"
    "    x.sparsity, x.bits, x.rel_error, x.note\n"
    "  FROM module x LEFT JOIN modifier m ON m.run = x.run AND m.idx = x.owner\n"
    "  ORDER BY x.run, x.idx;\n"
    "DROP VIEW transitions;\n"
    "CREATE VIEW transitions AS\n"
    "  SELECT t.run, t.call, t.modifier, m.type, w.what, t.before, t.after, t.weights_hash\n"
    "  FROM transition t JOIN modifier m ON m.run = t.run AND m.idx = t.modifier\n"
    "  JOIN (SELECT 1 AS bit, 'initialized' AS what UNION ALL SELECT 2, 'started'\n"
    "        UNION ALL SELECT 4, 'ended' UNION ALL SELECT 8, 'finalized') w\n"
    "    ON t.after & ~t.before & w.bit\n"
    "  ORDER BY t.run, t.call, t.modifier, w.bit;\n",
    /* 3: calls, hooks and metrics packed per batch (chunk.h): a row per hook
     * made recording cost ten times the run. pack_v2 moves the rows of
     * version 2 into chunks, then they go. */
    "CREATE TABLE chunk(\n"
    "  run INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,\n"
    "  first INTEGER NOT NULL, calls INTEGER NOT NULL, data BLOB NOT NULL,\n"
    "  UNIQUE (run, first));\n",
    /* 4: what `history list` says of a run, kept when it ends: counting
     * the modifiers that never started made listing 10,000 runs take 0.4 s */
    "ALTER TABLE run ADD COLUMN n_errors INTEGER;\n"
    "ALTER TABLE run ADD COLUMN n_never_started INTEGER;\n"
    "ALTER TABLE run ADD COLUMN n_modifiers INTEGER;\n"
    "UPDATE run SET n_errors = (SELECT count(*) FROM error e WHERE e.run = run.id),\n"
    "  n_never_started = (SELECT count(*) FROM never_started n WHERE n.run = run.id),\n"
    "  n_modifiers = (SELECT count(*) FROM modifier m WHERE m.run = run.id)\n"
    "  WHERE status <> 'running';\n",
};
#define SCHEMA_COUNT (sizeof migrations / sizeof *migrations)
_Static_assert(SCHEMA_COUNT == MS_HISTORY_SCHEMA, "one migration per schema version");

/* `diag` for an SQLite failure on the history file, with what to do. */
static ms_status db_fail(ms_history *h, int rc, ms_diag *diag)
{
    const char *what = h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc);
    int base = rc & 0xff;
    h->last_rc = rc;
    ms_status st = base == SQLITE_NOMEM ? MS_ERR_NOMEM : MS_ERR_IO;
    if (base == SQLITE_NOTADB || base == SQLITE_CORRUPT) {
        ms_diag_set(diag, st, "E-HISTORY", h->path, 0, 0, "%s is not a usable history: %s", h->path,
                    what);
        ms_diag_hint(diag, "move the file aside (modsim starts a new one), or choose another "
                           "with --history PATH; --no-history records nothing");
    } else if (base == SQLITE_READONLY || base == SQLITE_CANTOPEN || base == SQLITE_PERM) {
        ms_diag_set(diag, st, "E-HISTORY", h->path, 0, 0, "cannot write the history %s: %s",
                    h->path, what);
        ms_diag_hint(diag, "make the file and its folder writable, or choose another with "
                           "--history PATH; --no-history records nothing");
    } else if (base == SQLITE_FULL) {
        ms_diag_set(diag, st, "E-HISTORY", h->path, 0, 0, "the disk of the history %s is full",
                    h->path);
        ms_diag_hint(diag, "free space, `modsim history gc --keep N`, or --no-history");
    } else if (base == SQLITE_BUSY || base == SQLITE_LOCKED) {
        ms_diag_set(diag, st, "E-HISTORY", h->path, 0, 0,
                    "the history %s stayed locked by another process for %d s", h->path,
                    BUSY_TIMEOUT_MS / 1000);
        ms_diag_hint(diag, "try again when the other modsim is done, or use --no-history");
    } else {
        ms_diag_set(diag, st, "E-HISTORY", h->path, 0, 0, "history %s: %s", h->path, what);
    }
    return st;
}

static int exec(ms_history *h, const char *sql)
{
    return sqlite3_exec(h->db, sql, NULL, NULL, NULL);
}

static ms_status exec_d(ms_history *h, const char *sql, ms_diag *diag)
{
    int rc = exec(h, sql);
    return rc == SQLITE_OK ? MS_OK : db_fail(h, rc, diag);
}

/* mkdir -p of the folder holding `path`. */
static ms_status make_parent(const char *path, ms_diag *diag)
{
    char dir[512];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return ms_diag_set(diag, MS_ERR_LIMIT, "E-HISTORY", path, 0, 0,
                           "history path longer than %zu bytes", sizeof dir - 1);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return MS_OK;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        bool end = *p == '\0';
        if (*p == '/' || end) {
            *p = '\0';
            if (mkdir(dir, 0700) != 0 && errno != EEXIST)
                return ms_diag_set(diag, MS_ERR_IO, "E-HISTORY", path, 0, 0,
                                   "cannot make the folder %s of the history: %s", dir,
                                   strerror(errno));
            if (end)
                break;
            *p = '/';
        }
    }
    return MS_OK;
}

/* A schema version no modsim wrote (found by fuzzing: a negative one indexed
 * the migrations before their start). */
static ms_status not_a_history(ms_history *h, int version, ms_diag *diag)
{
    ms_diag_set(diag, MS_ERR_INVALID, "E-HISTORY", h->path, 0, 0,
                "%s is not a modsim history: its schema version is %d", h->path, version);
    ms_diag_hint(diag, "choose another file with --history PATH; the file is left as it is");
    return MS_ERR_INVALID;
}

static ms_status pack_v2(ms_history *h, ms_diag *diag);

static ms_status migrate(ms_history *h, ms_diag *diag)
{
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(h->db, "PRAGMA user_version", -1, &q, NULL);
    if (rc != SQLITE_OK)
        return db_fail(h, rc, diag);
    rc = sqlite3_step(q);
    int version = rc == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW)
        return db_fail(h, rc, diag);
    if (version > MS_HISTORY_SCHEMA) {
        ms_diag_set(diag, MS_ERR_INVALID, "E-HISTORY-NEWER", h->path, 0, 0,
                    "the history %s has schema %d, from a newer modsim (this one knows up to %d)",
                    h->path, version, MS_HISTORY_SCHEMA);
        ms_diag_hint(diag, "use the newer modsim, or choose another file with --history PATH; "
                           "the file is left as it is");
        return MS_ERR_INVALID;
    }
    if (version == MS_HISTORY_SCHEMA)
        return MS_OK;
    if (version < 0)
        return not_a_history(h, version, diag);
    ms_status st = exec_d(h, "BEGIN IMMEDIATE", diag);
    if (st != MS_OK)
        return st;
    /* another process may have migrated while this one waited for the lock */
    rc = sqlite3_prepare_v2(h->db, "PRAGMA user_version", -1, &q, NULL);
    if (rc == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        version = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    if (version < 0 || version > MS_HISTORY_SCHEMA) {
        exec(h, "ROLLBACK");
        return not_a_history(h, version, diag);
    }
    for (int v = version; v < MS_HISTORY_SCHEMA && st == MS_OK; v++) {
        st = exec_d(h, migrations[v], diag);
        if (st == MS_OK && v == 2)
            st = pack_v2(h, diag);
    }
    if (st == MS_OK) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", MS_HISTORY_SCHEMA);
        st = exec_d(h, sql, diag);
    }
    if (st == MS_OK)
        return exec_d(h, "COMMIT", diag);
    exec(h, "ROLLBACK");
    return st;
}

static ms_status prepare_once(ms_history *h, ms_diag *diag)
{
    /* journal_mode answers with a row; a file that is not a database fails here */
    ms_status st = exec_d(h, "PRAGMA journal_mode=WAL", diag);
    if (st == MS_OK)
        st = exec_d(h, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL", diag);
    if (st == MS_OK)
        st = migrate(h, diag);
    return st;
}

/* SQLite answers BUSY at once, without its busy handler, while another
 * process turns a new file to WAL or creates the schema (two first runs at
 * once): those steps are retried here for as long as a writer would wait. */
static ms_status prepare_file(ms_history *h, ms_diag *diag)
{
    struct timespec pause = {0, 5 * 1000 * 1000};
    for (long waited_ms = 0;; waited_ms += 5) {
        h->last_rc = SQLITE_OK;
        ms_status st = prepare_once(h, diag);
        int base = h->last_rc & 0xff;
        if (st == MS_OK || (base != SQLITE_BUSY && base != SQLITE_LOCKED) ||
            waited_ms >= BUSY_TIMEOUT_MS)
            return st;
        if (diag)
            ms_diag_clear(diag);
        nanosleep(&pause, NULL);
    }
}

ms_status ms_history_open(const char *path, bool create, ms_history **out, ms_diag *diag)
{
    *out = NULL;
    ms_history *h = calloc(1, sizeof *h);
    if (!h)
        return MS_ERR_NOMEM;
    snprintf(h->path, sizeof h->path, "%s", path);
    bool memory = !strcmp(path, ":memory:");
    ms_status st = MS_OK;
    if (!memory && create)
        st = make_parent(path, diag);
    if (!memory && !create && access(path, F_OK) != 0) {
        st = ms_diag_set(diag, MS_ERR_IO, "E-HISTORY", path, 0, 0,
                         "no history at %s: no run was recorded there", path);
        ms_diag_hint(diag, "record one with `modsim trace --record RECIPE`, or name the file "
                           "with --history PATH or MODSIM_HISTORY");
    }
    if (st == MS_OK) {
        int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
        int rc = sqlite3_open_v2(path, &h->db, flags, NULL);
        if (rc != SQLITE_OK)
            st = db_fail(h, rc, diag);
    }
    if (st == MS_OK) {
        sqlite3_busy_timeout(h->db, BUSY_TIMEOUT_MS);
        st = prepare_file(h, diag);
    }
    if (st != MS_OK) {
        ms_history_close(h);
        return st;
    }
    *out = h;
    return MS_OK;
}

void ms_history_close(ms_history *h)
{
    if (!h)
        return;
    sqlite3_close(h->db);
    free(h);
}

/* FNV-1a, 64 bits, in hex: a content key for recipe texts (they are
 * compared whole on insert, so a collision is caught, not trusted). */
static void content_hash(const char *text, char out[17])
{
    uint64_t x = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        x = (x ^ *p) * 1099511628211ULL;
    snprintf(out, 17, "%016llx", (unsigned long long)x);
}

static ms_status put_recipe(ms_history *h, const char *text, char hash[17], ms_diag *diag)
{
    content_hash(text, hash);
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(h->db, "INSERT OR IGNORE INTO recipe(hash, text) VALUES (?, ?)", -1,
                                &q, NULL);
    if (rc != SQLITE_OK)
        return db_fail(h, rc, diag);
    sqlite3_bind_text(q, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, text, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return db_fail(h, rc, diag);
    rc = sqlite3_prepare_v2(h->db, "SELECT text = ? FROM recipe WHERE hash = ?", -1, &q, NULL);
    if (rc != SQLITE_OK)
        return db_fail(h, rc, diag);
    sqlite3_bind_text(q, 1, text, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, hash, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    bool same = rc == SQLITE_ROW && sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    if (!same)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-HISTORY", h->path, 0, 0,
                           "two recipe texts share the content hash %s in %s", hash, h->path);
    return MS_OK;
}

enum { Q_TRANSITION, Q_ERROR, Q_CHUNK, Q_CALLS, Q_BEGIN, Q_COMMIT, Q_COUNT };

/* Prepared once per run: a batch's statements, its BEGIN and COMMIT too,
 * are not parsed again for each of them. */
static const char *const record_sql[Q_COUNT] = {
    "INSERT OR REPLACE INTO transition VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    "INSERT INTO error VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    "INSERT INTO chunk(run, first, calls, data) VALUES (?1, ?2, ?3, ?4)",
    "UPDATE run SET calls = ?2 WHERE id = ?1",
    "BEGIN IMMEDIATE",
    "COMMIT",
};

struct ms_history_run {
    ms_history *h;
    long long id;
    sqlite3_stmt *q[Q_COUNT];
    ms_chunk_writer *chunk;
    size_t calls;
    int seq; /* hooks and errors within the current call */
    bool in_txn;
    int failed; /* the first SQLite error; recording stops there */
    uint64_t (*weights_hash)(const void *user);
    const void *weights_user;
    size_t hashed_call; /* the call `hash` is the weights' checksum after */
    bool hashed;
    char hash[17];
};

static void bind_text_or_null(sqlite3_stmt *q, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(q, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
}

static bool step_done(ms_history_run *run, sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc == SQLITE_DONE)
        return true;
    run->failed = rc;
    return false;
}

/* The batch's rows and its chunk go in one transaction, begun with its
 * first row. */
static bool in_txn(ms_history_run *run)
{
    if (run->in_txn)
        return true;
    if (!step_done(run, run->q[Q_BEGIN]))
        return false;
    run->in_txn = true;
    return true;
}

static void batch_commit(ms_history_run *run)
{
    size_t n = ms_chunk_calls(run->chunk);
    if (run->failed || (!n && !run->in_txn) || !in_txn(run))
        return;
    if (n) {
        size_t len;
        const uint8_t *data = ms_chunk_data(run->chunk, &len);
        sqlite3_stmt *q = run->q[Q_CHUNK];
        sqlite3_bind_int64(q, 1, run->id);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)ms_chunk_first(run->chunk));
        sqlite3_bind_int64(q, 3, (sqlite3_int64)n);
        sqlite3_bind_blob(q, 4, data, (int)len, SQLITE_STATIC);
        if (!step_done(run, q))
            return;
    }
    sqlite3_stmt *q = run->q[Q_CALLS];
    sqlite3_bind_int64(q, 1, run->id);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)run->calls);
    if (!step_done(run, q))
        return;
    step_done(run, run->q[Q_COMMIT]);
    run->in_txn = false;
    ms_chunk_writer_reset(run->chunk, run->calls);
}

/* The records that are not hooks or metrics: few, and some touch SQLite
 * (out of line: record_emit stays small). */
__attribute__((noinline)) static void record_rare(ms_history_run *run, const ms_record *r)
{
    sqlite3_stmt *q;
    bool ok = true;
    switch (r->kind) {
    case MS_REC_CALL_BEGUN:
        run->seq = 0;
        ok = ms_chunk_call(run->chunk, r->what);
        break;
    case MS_REC_FLAGS:
        if (!in_txn(run))
            return;
        q = run->q[Q_TRANSITION];
        sqlite3_bind_int64(q, 1, run->id);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)r->call);
        sqlite3_bind_int64(q, 3, (sqlite3_int64)r->modifier);
        sqlite3_bind_int(q, 4, (int)r->flags_before);
        sqlite3_bind_int(q, 5, (int)r->flags_after);
        /* flags records come after the call's hooks: the weights are final */
        if (run->weights_hash && (!run->hashed || run->hashed_call != r->call)) {
            snprintf(run->hash, sizeof run->hash, "%016llx",
                     (unsigned long long)run->weights_hash(run->weights_user));
            run->hashed_call = r->call;
            run->hashed = true;
        }
        bind_text_or_null(q, 6, run->weights_hash ? run->hash : NULL);
        step_done(run, q);
        break;
    case MS_REC_ERROR:
        if (!in_txn(run))
            return;
        q = run->q[Q_ERROR];
        sqlite3_bind_int64(q, 1, run->id);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)r->call);
        sqlite3_bind_int(q, 3, run->seq++);
        if (r->raised->modifier >= 0)
            sqlite3_bind_int(q, 4, r->raised->modifier);
        else
            sqlite3_bind_null(q, 4);
        sqlite3_bind_text(q, 5, ms_raise_kind_name(r->raised->kind), -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 6, r->raised->message, -1, SQLITE_STATIC);
        step_done(run, q);
        break;
    case MS_REC_CALL_ENDED:
        run->calls = r->call + 1;
        if (ms_chunk_calls(run->chunk) >= BATCH_CALLS)
            batch_commit(run);
        break;
    case MS_REC_HOOK:
    case MS_REC_METRIC:
        break;
    }
    if (!ok)
        run->failed = SQLITE_NOMEM;
}

/* Hooks and metrics are most records (15 of the 17 a call of ten
 * modifiers makes): they go straight to the chunk, the rest aside. */
static void record_emit(void *user, const ms_record *r)
{
    ms_history_run *run = user;
    if (run->failed)
        return;
    bool ok = true;
    if (r->kind == MS_REC_HOOK) {
        /* on_event is not kept (see ms_history_run_sink), also when a sink
         * beside this one asks for it */
        if (r->hook == MS_HOOK_ON_EVENT)
            return;
        run->seq++;
        ok = ms_chunk_hook(run->chunk, r->modifier, r->hook);
    } else if (r->kind == MS_REC_METRIC) {
        ok = ms_chunk_metric(run->chunk, r->modifier, r->module, r->metric, r->has_value, r->value);
    } else {
        record_rare(run, r);
    }
    if (!ok)
        run->failed = SQLITE_NOMEM;
}

static void run_free(ms_history_run *run)
{
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(run->q[i]);
    ms_chunk_writer_free(run->chunk);
    free(run);
}

ms_status ms_history_run_begin(ms_history *h, const ms_history_settings *s, const ms_lifecycle *lc,
                               ms_history_run **out, ms_diag *diag)
{
    *out = NULL;
    ms_history_run *run = calloc(1, sizeof *run);
    if (!run)
        return MS_ERR_NOMEM;
    run->h = h;
    run->chunk = ms_chunk_writer_new();
    /* Recording writes new pages and reads next to none back: a small page
     * cache does, where the default one faults in 2 MB of fresh memory. The
     * WAL file stays when the connection closes (all it holds is in the
     * history by then), so the next run writes over its pages rather than
     * having the kernel allocate and zero new ones. */
    exec(h, "PRAGMA cache_size = -256");
    int persist = 1;
    sqlite3_file_control(h->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    ms_status st = run->chunk ? exec_d(h, "BEGIN IMMEDIATE", diag) : MS_ERR_NOMEM;
    if (st != MS_OK) {
        run_free(run);
        return st;
    }
    char rhash[17] = "", phash[17] = "";
    if (s->recipe_text)
        st = put_recipe(h, s->recipe_text, rhash, diag);
    if (st == MS_OK && s->replay_recipe)
        st = put_recipe(h, s->replay_recipe, phash, diag);
    sqlite3_stmt *q = NULL;
    int rc = SQLITE_OK;
    if (st == MS_OK) {
        rc = sqlite3_prepare_v2(
            h->db,
            "INSERT INTO run(parent, started, status, pid, modsim_version, profile, recipe_hash,"
            " recipe_path, stage, pipeline, clock, model, weights_hash, calibration, seed,"
            " threads, replay_hash, index_mode, steps_per_epoch, batches_per_step,"
            " calibration_data) VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
            " ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
            -1, &q, NULL);
        if (rc != SQLITE_OK)
            st = db_fail(h, rc, diag);
    }
    if (st == MS_OK) {
        if (s->parent > 0)
            sqlite3_bind_int64(q, 1, s->parent);
        else
            sqlite3_bind_null(q, 1);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)time(NULL));
        sqlite3_bind_int64(q, 3, (sqlite3_int64)getpid());
        bind_text_or_null(q, 4, s->modsim_version);
        bind_text_or_null(q, 5, s->profile);
        bind_text_or_null(q, 6, rhash[0] ? rhash : NULL);
        bind_text_or_null(q, 7, s->recipe_path);
        bind_text_or_null(q, 8, s->stage);
        bind_text_or_null(q, 9, s->pipeline);
        bind_text_or_null(q, 10, s->clock);
        bind_text_or_null(q, 11, s->model);
        bind_text_or_null(q, 12, s->weights_hash);
        bind_text_or_null(q, 13, s->calibration);
        if (s->has_seed)
            sqlite3_bind_int64(q, 14, s->seed);
        else
            sqlite3_bind_null(q, 14);
        sqlite3_bind_int(q, 15, s->threads);
        bind_text_or_null(q, 16, phash[0] ? phash : NULL);
        sqlite3_bind_text(q, 17, s->index_upstream ? "upstream" : "step", -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 18, s->steps_per_epoch);
        sqlite3_bind_int64(q, 19, s->batches_per_step);
        sqlite3_bind_int(q, 20, s->calibration_data);
        rc = sqlite3_step(q);
        if (rc != SQLITE_DONE)
            st = db_fail(h, rc, diag);
        run->id = sqlite3_last_insert_rowid(h->db);
    }
    sqlite3_finalize(q);
    q = NULL;
    if (st == MS_OK && lc) {
        rc = sqlite3_prepare_v2(h->db, "INSERT INTO modifier VALUES (?, ?, ?, ?)", -1, &q, NULL);
        for (size_t i = 0; rc == SQLITE_OK && i < ms_lifecycle_count(lc); i++) {
            const ms_modifier *m = ms_lifecycle_modifier_const(lc, i);
            sqlite3_bind_int64(q, 1, run->id);
            sqlite3_bind_int64(q, 2, (sqlite3_int64)i);
            sqlite3_bind_text(q, 3, ms_modifier_type_name(ms_modifier_type_of(m)), -1,
                              SQLITE_STATIC);
            bind_text_or_null(q, 4, ms_modifier_group(m));
            rc = sqlite3_step(q);
            sqlite3_reset(q);
            rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        }
        sqlite3_finalize(q);
        if (rc != SQLITE_OK)
            st = db_fail(h, rc, diag);
    }
    for (int i = 0; st == MS_OK && i < Q_COUNT; i++) {
        rc = sqlite3_prepare_v2(h->db, record_sql[i], -1, &run->q[i], NULL);
        if (rc != SQLITE_OK)
            st = db_fail(h, rc, diag);
    }
    /* the run is visible as running from here on */
    if (st == MS_OK)
        st = exec_d(h, "COMMIT", diag);
    if (st != MS_OK) {
        exec(h, "ROLLBACK");
        run_free(run);
        return st;
    }
    *out = run;
    return MS_OK;
}

ms_sink ms_history_run_sink(ms_history_run *run)
{
    /* on_event goes to every modifier on every event: the hooks that say
     * what a modifier did are recorded, not that one */
    return (ms_sink){.emit = record_emit, .user = run, .skips_on_event = true};
}

long long ms_history_run_id(const ms_history_run *run)
{
    return run->id;
}

void ms_history_run_set_weights_hash(ms_history_run *run, uint64_t (*hash)(const void *user),
                                     const void *user)
{
    run->weights_hash = hash;
    run->weights_user = user;
}

/* Ends the batch being written, so that what follows has its own
 * transaction. */
static ms_status batch_flush(ms_history_run *run, ms_diag *diag)
{
    batch_commit(run);
    return run->failed ? db_fail(run->h, run->failed, diag) : MS_OK;
}

ms_status ms_history_run_modules(ms_history_run *run, const ms_history_module *rows, size_t n,
                                 ms_diag *diag)
{
    ms_history *h = run->h;
    ms_status st = batch_flush(run, diag);
    if (st == MS_OK)
        st = exec_d(h, "BEGIN IMMEDIATE", diag);
    if (st != MS_OK)
        return st;
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(h->db, "INSERT INTO module VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", -1,
                                &q, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
        sqlite3_bind_int64(q, 1, run->id);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)i);
        sqlite3_bind_text(q, 3, rows[i].name, -1, SQLITE_STATIC);
        bind_text_or_null(q, 4, rows[i].class_name);
        if (rows[i].owner >= 0)
            sqlite3_bind_int(q, 5, rows[i].owner);
        else
            sqlite3_bind_null(q, 5);
        sqlite3_bind_double(q, 6, rows[i].sparsity);
        if (rows[i].bits)
            sqlite3_bind_int(q, 7, rows[i].bits);
        else
            sqlite3_bind_null(q, 7);
        sqlite3_bind_double(q, 8, rows[i].rel_error);
        bind_text_or_null(q, 9, rows[i].note);
        rc = sqlite3_step(q);
        sqlite3_reset(q);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_OK) {
        st = db_fail(h, rc, diag);
        exec(h, "ROLLBACK");
        return st;
    }
    return exec_d(h, "COMMIT", diag);
}

ms_status ms_history_run_figure(ms_history_run *run, const char *name, double value, ms_diag *diag)
{
    ms_status st = batch_flush(run, diag);
    if (st != MS_OK)
        return st;
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(run->h->db, "INSERT OR REPLACE INTO figure VALUES (?, ?, ?)", -1,
                                &q, NULL);
    if (rc != SQLITE_OK)
        return db_fail(run->h, rc, diag);
    sqlite3_bind_int64(q, 1, run->id);
    sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_double(q, 3, value);
    rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? MS_OK : db_fail(run->h, rc, diag);
}

ms_status ms_history_run_end(ms_history_run *run, ms_history_status status, ms_diag *diag)
{
    ms_history *h = run->h;
    batch_commit(run);
    int failed = run->failed;
    if (run->in_txn)
        exec(h, "ROLLBACK");
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(h->db,
                                "UPDATE run SET status = ?2, ended = ?3,"
                                " n_errors = (SELECT count(*) FROM error WHERE run = ?1),"
                                " n_never_started = (SELECT count(*) FROM never_started"
                                " WHERE run = ?1),"
                                " n_modifiers = (SELECT count(*) FROM modifier WHERE run = ?1)"
                                " WHERE id = ?1",
                                -1, &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, run->id);
        /* a run whose records could not all be written is not complete */
        sqlite3_bind_text(q, 2,
                          ms_history_status_name(failed && status == MS_HISTORY_COMPLETED
                                                     ? MS_HISTORY_INTERRUPTED
                                                     : status),
                          -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, (sqlite3_int64)time(NULL));
        rc = sqlite3_step(q);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(q);
    run_free(run);
    if (failed)
        return db_fail(h, failed, diag);
    return rc == SQLITE_OK ? MS_OK : db_fail(h, rc, diag);
}

/* Reading the history back. */

/* A run left `running` by a process that is gone was killed midway. */
static const char *shown_status(const char *status, long long pid)
{
    if (status && !strcmp(status, "running") && pid > 0 && pid != (long long)getpid() &&
        kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return "interrupted";
    return status ? status : "unknown";
}

static const char *col_text(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? (const char *)t : "";
}

static ms_status prepare(ms_history *h, const char *sql, sqlite3_stmt **q, ms_diag *diag)
{
    int rc = sqlite3_prepare_v2(h->db, sql, -1, q, NULL);
    return rc == SQLITE_OK ? MS_OK : db_fail(h, rc, diag);
}

/* The rows of a query, read in one shape everywhere below:
 *     rows r;
 *     ms_status st = rows_open(h, sql, id, &r, diag);
 *     while (st == MS_OK && rows_next(&r))
 *         ... sqlite3_column_*(r.q, ...) ...;
 *     st = rows_close(&r, st, diag);
 * `id` is bound to ?1 (the run, mostly); bind others to r.q before the
 * first row. */
typedef struct rows {
    ms_history *h;
    sqlite3_stmt *q;
    int rc;
} rows;

static ms_status rows_open(ms_history *h, const char *sql, long long id, rows *r, ms_diag *diag)
{
    *r = (rows){.h = h, .rc = SQLITE_DONE};
    ms_status st = prepare(h, sql, &r->q, diag);
    if (st == MS_OK && sqlite3_bind_parameter_count(r->q) > 0)
        sqlite3_bind_int64(r->q, 1, id);
    return st;
}

static bool rows_next(rows *r)
{
    r->rc = sqlite3_step(r->q);
    return r->rc == SQLITE_ROW;
}

/* Finalizes the query: `st`, the loop's own status, unless SQLite failed
 * (leaving the loop at a row is not a failure). */
static ms_status rows_close(rows *r, ms_status st, ms_diag *diag)
{
    sqlite3_finalize(r->q);
    r->q = NULL;
    if (st == MS_OK && r->rc != SQLITE_DONE && r->rc != SQLITE_ROW)
        return db_fail(r->h, r->rc, diag);
    return st;
}

static ms_status no_run(ms_history *h, long long id, ms_diag *diag)
{
    ms_diag_set(diag, MS_ERR_INVALID, "E-HISTORY-RUN", h->path, 0, 0, "no run %lld in %s", id,
                h->path);
    ms_diag_hint(diag, "`modsim history list` shows the runs kept");
    return MS_ERR_INVALID;
}

/* Each call, hook and metric of run `id`, in order, to `fn` (stopping at
 * its first failure). */
static ms_status each_item(ms_history *h, long long id,
                           ms_status (*fn)(void *user, const ms_chunk_item *it), void *user,
                           ms_diag *diag)
{
    rows rs;
    ms_status st =
        rows_open(h, "SELECT first, data FROM chunk WHERE run = ? ORDER BY first", id, &rs, diag);
    if (st != MS_OK)
        return st;
    ms_chunk_reader *r = ms_chunk_reader_new();
    if (!r)
        st = MS_ERR_NOMEM;
    sqlite3_stmt *q = rs.q;
    long long next = 0; /* chunks follow each other: call indices stay within the blobs */
    while (st == MS_OK && rows_next(&rs)) {
        long long first = sqlite3_column_int64(q, 0);
        const void *data = sqlite3_column_blob(q, 1);
        ms_chunk_reader_start(r, data, (size_t)sqlite3_column_bytes(q, 1), (size_t)next);
        ms_chunk_item it;
        int got = first == next ? 1 : -1;
        while (st == MS_OK && got == 1 && (got = ms_chunk_next(r, &it)) == 1) {
            next = (long long)it.call + 1;
            st = fn(user, &it);
        }
        if (st == MS_OK && got < 0) {
            st = ms_diag_set(diag, MS_ERR_INVALID, "E-HISTORY", h->path, 0, 0,
                             "run %lld of %s is damaged: its calls from %lld on cannot be read", id,
                             h->path, first);
            ms_diag_hint(diag, "`modsim history rm %lld` drops the run; the others are unharmed",
                         id);
        }
    }
    ms_chunk_reader_free(r);
    return rows_close(&rs, st, diag);
}

static const char *const call_kind_names[] = {
    "initialize",        "event", "finalize", "modifier_initialize", "modifier_update_event",
    "modifier_finalize",
};

static bool on_modifier(const ms_call *c)
{
    return ms_call_is_direct(c) || (c->kind == MS_CALL_EVENT && c->narrowed);
}

static bool has_event(const ms_call *c)
{
    return c->kind == MS_CALL_EVENT || c->kind == MS_CALL_MODIFIER_UPDATE_EVENT;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* "3 errors, 2 modifiers never started", or "every modifier started". */
static void outcome(long long errors, long long never, long long modifiers, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    if (errors)
        n += (size_t)snprintf(buf, cap, "%lld error%s", errors, errors == 1 ? "" : "s");
    if (never && n < cap)
        snprintf(buf + n, cap - n, "%s%lld modifier%s never started", n ? ", " : "", never,
                 never == 1 ? "" : "s");
    else if (!errors)
        snprintf(buf, cap, modifiers ? "every modifier started" : "no modifiers");
}

static const char list_sql[] =
    "SELECT r.id, strftime('%Y-%m-%d %H:%M', r.started, 'unixepoch', 'localtime'), r.status,"
    " r.pid, r.calls, r.recipe_path, r.profile, r.pipeline, r.model,"
    " CASE WHEN r.n_errors IS NULL THEN (SELECT count(*) FROM error e WHERE e.run = r.id)"
    " ELSE r.n_errors END,"
    " CASE WHEN r.n_never_started IS NULL THEN (SELECT count(*) FROM never_started n"
    " WHERE n.run = r.id) ELSE r.n_never_started END,"
    " CASE WHEN r.n_modifiers IS NULL THEN (SELECT count(*) FROM modifier m WHERE m.run = r.id)"
    " ELSE r.n_modifiers END, r.stage, r.parent"
    " FROM run r WHERE ?1 IS NULL OR instr(r.recipe_path, ?1) > 0 ORDER BY r.id DESC";

ms_status ms_history_list(ms_history *h, const ms_history_filter *f, bool json, FILE *out,
                          ms_diag *diag)
{
    rows r;
    ms_status st = rows_open(h, list_sql, 0, &r, diag);
    if (st != MS_OK)
        return st;
    sqlite3_stmt *q = r.q;
    bind_text_or_null(q, 1, f->recipe);
    long long shown = 0;
    if (json)
        fputs("[", out);
    while ((!f->limit || shown < f->limit) && rows_next(&r)) {
        const char *status = shown_status(col_text(q, 2), sqlite3_column_int64(q, 3));
        if (f->has_status && strcmp(status, ms_history_status_name(f->status)))
            continue;
        char words[128];
        outcome(sqlite3_column_int64(q, 9), sqlite3_column_int64(q, 10),
                sqlite3_column_int64(q, 11), words, sizeof words);
        const char *model = sqlite3_column_type(q, 8) == SQLITE_NULL ? "-" : col_text(q, 8);
        if (json) {
            fprintf(out, "%s\n  {\"id\": %lld, \"started\": ", shown ? "," : "",
                    sqlite3_column_int64(q, 0));
            ms_json_fput_string(out, col_text(q, 1));
            fputs(", \"status\": ", out);
            ms_json_fput_string(out, status);
            fputs(", \"recipe\": ", out);
            ms_json_fput_string(out, col_text(q, 5));
            fputs(", \"stage\": ", out);
            if (sqlite3_column_type(q, 12) == SQLITE_NULL)
                fputs("null", out);
            else
                ms_json_fput_string(out, col_text(q, 12));
            fputs(", \"profile\": ", out);
            ms_json_fput_string(out, col_text(q, 6));
            fputs(", \"pipeline\": ", out);
            ms_json_fput_string(out, col_text(q, 7));
            fputs(", \"model\": ", out);
            if (sqlite3_column_type(q, 8) == SQLITE_NULL)
                fputs("null", out);
            else
                ms_json_fput_string(out, model);
            fprintf(out, ", \"calls\": %lld, \"errors\": %lld, \"never_started\": %lld, ",
                    sqlite3_column_int64(q, 4), sqlite3_column_int64(q, 9),
                    sqlite3_column_int64(q, 10));
            fputs("\"outcome\": ", out);
            ms_json_fput_string(out, words);
            if (sqlite3_column_type(q, 13) == SQLITE_NULL)
                fputs(", \"parent\": null}", out);
            else
                fprintf(out, ", \"parent\": %lld}", sqlite3_column_int64(q, 13));
        } else {
            fprintf(out, "%-5lld %s  %-11s %-28s %-4s %-13s %-6s %7lld calls  %s",
                    sqlite3_column_int64(q, 0), col_text(q, 1), status, base_name(col_text(q, 5)),
                    col_text(q, 6), col_text(q, 7), model, sqlite3_column_int64(q, 4), words);
            /* a run edited from another (in the TUI) names it: the edits form a tree */
            if (sqlite3_column_type(q, 13) != SQLITE_NULL)
                fprintf(out, "  parent %lld", sqlite3_column_int64(q, 13));
            fputc('\n', out);
        }
        shown++;
    }
    if (json)
        fputs(shown ? "\n]\n" : "]\n", out);
    st = rows_close(&r, MS_OK, diag);
    return st == MS_OK && ferror(out) ? MS_ERR_IO : st;
}

/* The modifiers' types of run `id`, "GPTQModifier" ..., malloc'd; *n of them. */
static ms_status modifier_names(ms_history *h, long long id, char ***names, size_t *n,
                                ms_diag *diag)
{
    *names = NULL;
    *n = 0;
    rows r;
    ms_status st =
        rows_open(h, "SELECT idx, type FROM modifier WHERE run = ? ORDER BY idx", id, &r, diag);
    if (st != MS_OK)
        return st;
    sqlite3_stmt *q = r.q;
    size_t cap = 0;
    while (st == MS_OK && rows_next(&r)) {
        sqlite3_int64 raw = sqlite3_column_int64(q, 0);
        if (raw < 0 || raw >= MAX_MODIFIER_INDEX) {
            /* only a damaged or foreign file has such an index (found by fuzz_history) */
            st = ms_diag_set(diag, MS_ERR_INVALID, "E-HISTORY", h->path, 0, 0,
                             "%s is not a usable history: run %lld has a modifier numbered %lld",
                             h->path, id, (long long)raw);
            break;
        }
        size_t idx = (size_t)raw;
        size_t had = cap;
        if (!ms_array_reserve(names, &cap, idx, sizeof **names)) {
            st = MS_ERR_NOMEM;
            break;
        }
        memset(*names + had, 0, (cap - had) * sizeof **names);
        free((*names)[idx]);
        (*names)[idx] = strdup(col_text(q, 1));
        if (idx + 1 > *n)
            *n = idx + 1;
    }
    st = rows_close(&r, st, diag);
    if (st != MS_OK) { /* the caller frees nothing on failure (fuzz_history found the leak) */
        for (size_t i = 0; i < cap; i++)
            free((*names)[i]);
        free(*names);
        *names = NULL;
        *n = 0;
    }
    return st;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static const char *name_of(char **names, size_t n, long long idx)
{
    return idx >= 0 && (size_t)idx < n && names[idx] ? names[idx] : "?";
}

static const char *const flag_words[] = {"initialized", "started", "ended", "finalized"};

static void flags_words(unsigned flags, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int b = 0; b < 4; b++)
        if (flags & (1u << b) && n < cap)
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? " " : "", flag_words[b]);
    if (!n)
        snprintf(buf, cap, "-");
}

static ms_status run_exists(ms_history *h, long long id, ms_diag *diag)
{
    sqlite3_stmt *q;
    ms_status st = prepare(h, "SELECT 1 FROM run WHERE id = ?", &q, diag);
    if (st != MS_OK)
        return st;
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc == SQLITE_ROW)
        return MS_OK;
    return rc == SQLITE_DONE ? no_run(h, id, diag) : db_fail(h, rc, diag);
}

/* The final per-module table and the figures of a run that acted on a
 * model; nothing for one that did not. */
static ms_status show_modules(ms_history *h, long long id, FILE *out, ms_diag *diag)
{
    rows r;
    ms_status st = rows_open(h,
                             "SELECT module, class, owner, modifier, sparsity, bits, rel_error,"
                             " note FROM modules WHERE run = ?",
                             id, &r, diag);
    if (st != MS_OK)
        return st;
    sqlite3_stmt *q = r.q;
    bool first = true;
    while (rows_next(&r)) {
        if (first)
            fprintf(out, "modules at the end\n  %-34s %-7s %-28s %8s %4s %9s\n", "module", "class",
                    "modifier", "sparsity", "bits", "rel.err");
        first = false;
        char owner[64] = "-", bits[16] = "-";
        if (sqlite3_column_type(q, 2) != SQLITE_NULL)
            snprintf(owner, sizeof owner, "%s[%lld]", col_text(q, 3), sqlite3_column_int64(q, 2));
        if (sqlite3_column_type(q, 5) != SQLITE_NULL)
            snprintf(bits, sizeof bits, "%d", sqlite3_column_int(q, 5));
        fprintf(out, "  %-34s %-7s %-28s %8.4f %4s %9.6f\n", col_text(q, 0), col_text(q, 1), owner,
                sqlite3_column_double(q, 4), bits, sqlite3_column_double(q, 6));
        if (sqlite3_column_type(q, 7) != SQLITE_NULL)
            fprintf(out, "  note: %s left unchanged: %s\n", col_text(q, 0), col_text(q, 7));
    }
    st = rows_close(&r, MS_OK, diag);
    if (st == MS_OK)
        st = rows_open(h, "SELECT name, value FROM figure WHERE run = ? ORDER BY name", id, &r,
                       diag);
    if (st != MS_OK)
        return st;
    q = r.q;
    first = true;
    while (rows_next(&r)) {
        if (first)
            fputs("figures\n", out);
        first = false;
        fprintf(out, "  %-16s %.6g\n", col_text(q, 0), sqlite3_column_double(q, 1));
    }
    return rows_close(&r, MS_OK, diag);
}

/* Per modifier, the whole-modifier metrics of the last call that reported
 * any (`history show`'s final column). */
typedef struct final_at {
    long long call;
    size_t count;
    char name[8][32];
    double value[8];
} final_at;

typedef struct final_metrics {
    size_t n;
    final_at *at;
} final_metrics;

static ms_status keep_final_metric(void *user, const ms_chunk_item *it)
{
    final_metrics *fm = user;
    if (it->kind != MS_CHUNK_METRIC || it->module[0] || it->modifier >= fm->n)
        return MS_OK;
    final_at *m = &fm->at[it->modifier];
    if (m->count && m->call != (long long)it->call)
        m->count = 0;
    m->call = (long long)it->call;
    if (!it->has_value)
        return MS_OK;
    size_t k = 0;
    while (k < m->count && strcmp(m->name[k], it->metric))
        k++;
    if (k == m->count) {
        if (m->count == sizeof m->name / sizeof *m->name)
            return MS_OK;
        snprintf(m->name[k], sizeof m->name[k], "%s", it->metric);
        m->count++;
    }
    m->value[k] = it->value;
    return MS_OK;
}

ms_status ms_history_show(ms_history *h, long long id, FILE *out, ms_diag *diag)
{
    sqlite3_stmt *q;
    ms_status st = prepare(
        h,
        "SELECT datetime(started, 'unixepoch', 'localtime'), datetime(ended, 'unixepoch',"
        " 'localtime'), status, pid, calls, modsim_version, profile, recipe_path, recipe_hash,"
        " stage, pipeline, clock, index_mode, model, weights_hash, calibration, seed, threads,"
        " parent FROM run WHERE id = ?",
        &q, diag);
    if (st != MS_OK)
        return st;
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(q);
        return rc == SQLITE_DONE ? no_run(h, id, diag) : db_fail(h, rc, diag);
    }
    static const char *const labels[] = {
        "started",      "ended",       "status", NULL,       "calls", "modsim", "profile",
        "recipe",       "recipe hash", "stage",  "pipeline", "run",   "index",  "model",
        "weights hash", "calibration", "seed",   "threads",  "parent"};
    fprintf(out, "run %lld\n", id);
    for (int i = 0; i < (int)(sizeof labels / sizeof *labels); i++) {
        if (!labels[i] || sqlite3_column_type(q, i) == SQLITE_NULL)
            continue;
        const char *v =
            i == 2 ? shown_status(col_text(q, 2), sqlite3_column_int64(q, 3)) : col_text(q, i);
        fprintf(out, "  %-13s %s\n", labels[i], v);
    }
    sqlite3_finalize(q);

    char **names;
    size_t nn;
    st = modifier_names(h, id, &names, &nn, diag);
    if (st != MS_OK)
        return st;
    fputs("transitions\n", out);
    rows r;
    st = rows_open(h, "SELECT call, modifier, what, weights_hash FROM transitions WHERE run = ?",
                   id, &r, diag);
    if (st == MS_OK) {
        q = r.q;
        while (rows_next(&r)) {
            fprintf(out, "  call %-6lld %-28s %-11s", sqlite3_column_int64(q, 0),
                    name_of(names, nn, sqlite3_column_int64(q, 1)), col_text(q, 2));
            if (sqlite3_column_type(q, 3) != SQLITE_NULL)
                fprintf(out, " weights %s", col_text(q, 3));
            fputc('\n', out);
        }
        st = rows_close(&r, st, diag);
    }
    if (st == MS_OK)
        st = rows_open(h,
                       "SELECT call, modifier, kind, message FROM error WHERE run = ?"
                       " ORDER BY call, seq",
                       id, &r, diag);
    if (st == MS_OK) {
        q = r.q;
        bool first = true;
        while (rows_next(&r)) {
            if (first)
                fputs("errors\n", out);
            first = false;
            fprintf(out, "  call %-6lld %-28s %s: %s\n", sqlite3_column_int64(q, 0),
                    sqlite3_column_type(q, 1) == SQLITE_NULL
                        ? "(lifecycle)"
                        : name_of(names, nn, sqlite3_column_int64(q, 1)),
                    col_text(q, 2), col_text(q, 3));
        }
        st = rows_close(&r, st, diag);
    }
    /* the final flags of each modifier: its last transition */
    final_metrics fm = {.n = nn, .at = calloc(nn ? nn : 1, sizeof *fm.at)};
    if (st == MS_OK)
        st = fm.at ? each_item(h, id, keep_final_metric, &fm, diag) : MS_ERR_NOMEM;
    if (st == MS_OK)
        st = rows_open(h,
                       "SELECT m.idx, m.type, (SELECT t.after FROM transition t WHERE t.run = m.run"
                       " AND t.modifier = m.idx ORDER BY t.call DESC LIMIT 1)"
                       " FROM modifier m WHERE m.run = ? ORDER BY m.idx",
                       id, &r, diag);
    if (st == MS_OK) {
        q = r.q;
        fputs("modifiers at the end\n", out);
        while (rows_next(&r)) {
            char words[64];
            flags_words((unsigned)sqlite3_column_int(q, 2), words, sizeof words);
            long long m = sqlite3_column_int64(q, 0);
            fprintf(out, "  %-3lld %-28s %-36s", m, col_text(q, 1), words);
            for (size_t k = 0; m >= 0 && (size_t)m < nn && k < fm.at[m].count; k++)
                fprintf(out, " %s=%.15g", fm.at[m].name[k], fm.at[m].value[k]);
            fputc('\n', out);
        }
        st = rows_close(&r, st, diag);
    }
    if (st == MS_OK)
        st = show_modules(h, id, out, diag);
    free(fm.at);
    free_names(names, nn);
    if (st == MS_OK && ferror(out))
        st = MS_ERR_IO;
    return st;
}

/* Per call of a run, a hash of everything recorded of it (the call, its
 * hooks, errors, transitions and the weights' checksum after them), to find
 * where two runs part. */
typedef struct hashes {
    uint64_t *at;
    size_t n, cap;
} hashes;

static uint64_t *hash_of(hashes *x, size_t call)
{
    size_t had = x->cap;
    if (!ms_array_reserve(&x->at, &x->cap, call, sizeof *x->at))
        return NULL;
    for (size_t i = had; i < x->cap; i++)
        x->at[i] = 1469598103934665603ULL;
    if (call + 1 > x->n)
        x->n = call + 1;
    return &x->at[call];
}

static void mix(uint64_t *x, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        *x = (*x ^ (v >> (8 * i) & 0xff)) * 1099511628211ULL;
}

static void mix_text(uint64_t *x, const unsigned char *p)
{
    for (; p && *p; p++)
        *x = (*x ^ *p) * 1099511628211ULL;
    *x = (*x ^ '|') * 1099511628211ULL;
}

/* One pass over a run's items for diff: the call hashes and the hooks. */
typedef struct diff_scan {
    hashes h;
    unsigned *hook_bits; /* per modifier, a bit per hook it ran */
    size_t n_mods;
} diff_scan;

static ms_status hash_item(void *user, const ms_chunk_item *it)
{
    diff_scan *d = user;
    /* on_event is not kept since schema 3; older runs have it */
    if (it->kind == MS_CHUNK_HOOK && it->hook == MS_HOOK_ON_EVENT)
        return MS_OK;
    if (it->kind == MS_CHUNK_HOOK && it->modifier < d->n_mods)
        d->hook_bits[it->modifier] |= 1u << it->hook;
    uint64_t *x = hash_of(&d->h, it->call);
    if (!x)
        return MS_ERR_NOMEM;
    if (it->kind == MS_CHUNK_CALL) {
        const ms_call *c = &it->what;
        uint64_t loss;
        memcpy(&loss, &c->loss, sizeof loss);
        mix(x, 'C');
        mix(x, (uint64_t)c->kind);
        mix(x, on_modifier(c) ? (uint64_t)c->modifier + 1 : 0);
        mix(x, has_event(c) ? (uint64_t)c->event.type + 1 : 0);
        mix(x, (uint64_t)c->event.global_step);
        mix(x, (uint64_t)c->event.global_batch);
        mix(x, c->has_loss ? loss : 0);
    } else if (it->kind == MS_CHUNK_HOOK) {
        mix(x, 'H');
        mix(x, (uint64_t)it->modifier);
        mix(x, (uint64_t)it->hook);
    }
    return MS_OK;
}

/* `weights`: the weights' checksums count (not when one side never had a
 * model to take them from). */
static ms_status call_hashes(ms_history *h, long long id, diff_scan *d, bool weights, ms_diag *diag)
{
    hashes x = {0};
    _Static_assert(MS_HOOK_COUNT <= 32, "a bit per hook");
    d->hook_bits = calloc(d->n_mods ? d->n_mods : 1, sizeof *d->hook_bits);
    ms_status st = d->hook_bits ? each_item(h, id, hash_item, d, diag) : MS_ERR_NOMEM;
    x = d->h;
    static const char *const sql[2] = {
        "SELECT call, 'E' || ifnull(modifier, '') || kind || message FROM error WHERE run = ?"
        " ORDER BY call, seq",
        "SELECT call, 'T' || modifier || ':' || before || '>' || after ||"
        " CASE WHEN ?2 THEN ifnull(weights_hash, '') ELSE '' END"
        " FROM transition WHERE run = ?1 ORDER BY call, modifier"};
    for (int k = 0; k < 2 && st == MS_OK; k++) {
        rows r;
        st = rows_open(h, sql[k], id, &r, diag);
        if (st != MS_OK)
            break;
        sqlite3_stmt *q = r.q;
        if (k == 1)
            sqlite3_bind_int(q, 2, weights);
        while (st == MS_OK && rows_next(&r)) {
            sqlite3_int64 raw = sqlite3_column_int64(q, 0);
            if (raw < 0 || (size_t)raw >= x.n) {
                /* an error or transition of a call the run does not have:
                 * damage (fuzz_history: a huge index allocated gigabytes) */
                st = ms_diag_set(diag, MS_ERR_INVALID, "E-HISTORY", h->path, 0, 0,
                                 "%s is not a usable history: run %lld has %zu calls but "
                                 "records call %lld",
                                 h->path, id, x.n, (long long)raw);
                break;
            }
            uint64_t *v = hash_of(&x, (size_t)raw);
            if (!v)
                st = MS_ERR_NOMEM;
            else
                mix_text(v, sqlite3_column_text(q, 1));
        }
        st = rows_close(&r, st, diag);
    }
    d->h = x;
    return st;
}

/* The first call at which each modifier of run `id` gained flag `bit`; -1 never. */
static ms_status first_flags(ms_history *h, long long id, size_t n, long long (*first)[4],
                             ms_diag *diag)
{
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 4; b++)
            first[i][b] = -1;
    rows r;
    ms_status st = rows_open(h,
                             "SELECT call, modifier, before, after FROM transition WHERE run = ?"
                             " ORDER BY call",
                             id, &r, diag);
    if (st != MS_OK)
        return st;
    sqlite3_stmt *q = r.q;
    while (rows_next(&r)) {
        long long m = sqlite3_column_int64(q, 1);
        unsigned gained = (unsigned)sqlite3_column_int(q, 3) & ~(unsigned)sqlite3_column_int(q, 2);
        if (m < 0 || (size_t)m >= n)
            continue;
        for (int b = 0; b < 4; b++)
            if (gained & (1u << b) && first[m][b] < 0)
                first[m][b] = sqlite3_column_int64(q, 0);
    }
    return rows_close(&r, MS_OK, diag);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The distinct "Type hook" pairs of a run, sorted, as one string per line. */
static ms_status hook_set(const unsigned *bits, char **names, size_t nn, char **out)
{
    *out = NULL;
    char **pairs = calloc(nn * MS_HOOK_COUNT + 1, sizeof *pairs);
    ms_status st = pairs ? MS_OK : MS_ERR_NOMEM;
    size_t np = 0, len = 1;
    for (size_t m = 0; st == MS_OK && m < nn; m++)
        for (int k = 0; k < MS_HOOK_COUNT; k++) {
            if (!(bits[m] >> k & 1))
                continue;
            const char *type = name_of(names, nn, (long long)m), *hook = ms_hook_name(k);
            char *p = malloc(strlen(type) + strlen(hook) + 2);
            if (!p) {
                st = MS_ERR_NOMEM;
                break;
            }
            sprintf(p, "%s %s", type, hook);
            pairs[np++] = p;
            len += strlen(p) + 1;
        }
    if (st == MS_OK) {
        qsort(pairs, np, sizeof *pairs, cmp_str);
        *out = malloc(len);
        if (!*out)
            st = MS_ERR_NOMEM;
    }
    if (st == MS_OK) {
        size_t used = 0;
        (*out)[0] = '\0';
        for (size_t i = 0; i < np; i++) {
            if (i && !strcmp(pairs[i], pairs[i - 1]))
                continue;
            used += (size_t)sprintf(*out + used, "%s%s", used ? "\n" : "", pairs[i]);
        }
    }
    for (size_t i = 0; i < np; i++)
        free(pairs[i]);
    free(pairs);
    return st;
}

/* Lines of `text` in a malloc'd array pointing into `text` (modified). */
static char **split_lines(char *text, size_t *n)
{
    size_t cap = 0;
    char **lines = NULL;
    *n = 0;
    /* an empty text has no lines, but the array is there */
    if (!ms_array_reserve(&lines, &cap, 0, sizeof *lines))
        return NULL;
    for (char *p = text; *p;) {
        if (!ms_array_reserve(&lines, &cap, *n, sizeof *lines)) {
            free(lines);
            return NULL;
        }
        lines[(*n)++] = p;
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    return lines;
}

/* Lines in one set only, "  only in A: ...". */
static bool set_diff(char *a, char *b, FILE *out)
{
    size_t na, nb;
    char **la = split_lines(a, &na), **lb = split_lines(b, &nb);
    bool differs = false;
    size_t i = 0, j = 0;
    while (la && lb && (i < na || j < nb)) {
        int c = i == na ? 1 : j == nb ? -1 : strcmp(la[i], lb[j]);
        if (c < 0) {
            fprintf(out, "  only in A: %s\n", la[i++]);
            differs = true;
        } else if (c > 0) {
            fprintf(out, "  only in B: %s\n", lb[j++]);
            differs = true;
        } else {
            i++;
            j++;
        }
    }
    free(la);
    free(lb);
    return differs;
}

/* A line diff of two recipe texts (longest common subsequence; recipes are
 * at most a few thousand lines), "-" for A's lines, "+" for B's. */
static ms_status text_diff(char *a, char *b, FILE *out)
{
    size_t na, nb;
    char **la = split_lines(a, &na), **lb = split_lines(b, &nb);
    unsigned *len =
        la && lb && na < 5000 && nb < 5000 ? calloc((na + 1) * (nb + 1), sizeof *len) : NULL;
    if (!len) {
        free(la);
        free(lb);
        fputs("  (the recipe texts differ)\n", out);
        return MS_OK;
    }
#define L(i, j) len[(i) * (nb + 1) + (j)]
    for (size_t i = na; i-- > 0;)
        for (size_t j = nb; j-- > 0;)
            L(i, j) = !strcmp(la[i], lb[j])       ? L(i + 1, j + 1) + 1
                      : L(i + 1, j) > L(i, j + 1) ? L(i + 1, j)
                                                  : L(i, j + 1);
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        if (i < na && j < nb && !strcmp(la[i], lb[j])) {
            i++;
            j++;
        } else if (j == nb || (i < na && L(i + 1, j) >= L(i, j + 1))) {
            fprintf(out, "  - %s\n", la[i++]);
        } else {
            fprintf(out, "  + %s\n", lb[j++]);
        }
    }
#undef L
    free(len);
    free(la);
    free(lb);
    return MS_OK;
}

static ms_status recipe_of(ms_history *h, long long id, char **hash, char **text, ms_diag *diag)
{
    *hash = *text = NULL;
    sqlite3_stmt *q;
    ms_status st = prepare(h,
                           "SELECT r.recipe_hash, x.text FROM run r LEFT JOIN recipe x ON"
                           " x.hash = r.recipe_hash WHERE r.id = ?",
                           &q, diag);
    if (st != MS_OK)
        return st;
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *hash = strdup(col_text(q, 0));
        *text = strdup(col_text(q, 1));
        if (!*hash || !*text)
            st = MS_ERR_NOMEM;
    } else {
        st = rc == SQLITE_DONE ? no_run(h, id, diag) : db_fail(h, rc, diag);
    }
    sqlite3_finalize(q);
    return st;
}

/* The settings of the two runs that differ, "  seed: 0 in A, 3 in B". */
static ms_status settings_diff(ms_history *h, long long a, long long b, FILE *out, bool *differs,
                               ms_diag *diag)
{
    static const char *const cols[] = {"profile",      "stage",       "pipeline", "clock",  "model",
                                       "weights_hash", "calibration", "seed",     "threads"};
    bool header = false;
    for (size_t i = 0; i < sizeof cols / sizeof *cols; i++) {
        char sql[160];
        snprintf(sql, sizeof sql,
                 "SELECT ifnull(x.%s, '-'), ifnull(y.%s, '-'), x.%s IS NOT y.%s FROM run x, run y"
                 " WHERE x.id = ?1 AND y.id = ?2",
                 cols[i], cols[i], cols[i], cols[i]);
        sqlite3_stmt *q;
        ms_status st = prepare(h, sql, &q, diag);
        if (st != MS_OK)
            return st;
        sqlite3_bind_int64(q, 1, a);
        sqlite3_bind_int64(q, 2, b);
        int rc = sqlite3_step(q);
        if (rc == SQLITE_ROW && sqlite3_column_int(q, 2)) {
            if (!header)
                fputs("settings\n", out);
            header = *differs = true;
            fprintf(out, "  %s: %s in A, %s in B\n", cols[i], col_text(q, 0), col_text(q, 1));
        }
        sqlite3_finalize(q);
        if (rc != SQLITE_ROW)
            return db_fail(h, rc, diag);
    }
    return MS_OK;
}

/* A run's final module table or its figures, by name, in module order. */
typedef struct metric_rows {
    char **name;
    double (*v)[3]; /* sparsity, bits (0: none), rel_error; figures use v[0] */
    size_t n;
} metric_rows;

static void metric_rows_free(metric_rows *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->name[i]);
    free(r->name);
    free(r->v);
    memset(r, 0, sizeof *r);
}

static ms_status metric_rows_read(ms_history *h, const char *sql, long long id, int cols,
                                  metric_rows *r, ms_diag *diag)
{
    memset(r, 0, sizeof *r);
    rows rs;
    ms_status st = rows_open(h, sql, id, &rs, diag);
    if (st != MS_OK)
        return st;
    sqlite3_stmt *q = rs.q;
    size_t cap = 0, vcap = 0; /* of r->name and r->v */
    while (st == MS_OK && rows_next(&rs)) {
        if (!ms_array_reserve(&r->name, &cap, r->n, sizeof *r->name) ||
            !ms_array_reserve(&r->v, &vcap, r->n, sizeof *r->v)) {
            st = MS_ERR_NOMEM;
            break;
        }
        r->name[r->n] = strdup(col_text(q, 0));
        if (!r->name[r->n]) {
            st = MS_ERR_NOMEM;
            break;
        }
        for (int c = 0; c < 3; c++)
            r->v[r->n][c] = c < cols ? sqlite3_column_double(q, 1 + c) : 0;
        r->n++;
    }
    return rows_close(&rs, st, diag);
}

/* Per-module and model-level metric deltas; nothing when neither run acted
 * on a model. */
static ms_status metric_diff(ms_history *h, long long a, long long b, FILE *out, bool *differs,
                             ms_diag *diag)
{
    static const char *const module_sql =
        "SELECT name, sparsity, ifnull(bits, 0), rel_error FROM module WHERE run = ? ORDER BY idx";
    static const char *const figure_sql =
        "SELECT name, value FROM figure WHERE run = ? ORDER BY name";
    static const char *const labels[3] = {"sparsity", "bits", "rel.err"};
    metric_rows ra = {0}, rb = {0};
    for (int table = 0; table < 2; table++) {
        ms_status st =
            metric_rows_read(h, table ? figure_sql : module_sql, a, table ? 1 : 3, &ra, diag);
        if (st == MS_OK)
            st = metric_rows_read(h, table ? figure_sql : module_sql, b, table ? 1 : 3, &rb, diag);
        if (st != MS_OK) {
            metric_rows_free(&ra);
            metric_rows_free(&rb);
            return st;
        }
        bool header = false;
        if (ra.n || rb.n)
            fputs(table ? "figures\n" : "module metrics\n", out);
        /* both lists are in module order: a name missing from one is
         * found by looking ahead in the other */
        size_t j = 0;
        for (size_t i = 0; i < ra.n; i++) {
            size_t k = j;
            while (k < rb.n && strcmp(ra.name[i], rb.name[k]))
                k++;
            if (k == rb.n) {
                fprintf(out, "  only in A: %s\n", ra.name[i]);
                header = *differs = true;
                continue;
            }
            for (; j < k; j++) {
                fprintf(out, "  only in B: %s\n", rb.name[j]);
                header = *differs = true;
            }
            j = k + 1;
            char line[512];
            size_t used = 0;
            for (int c = 0; c < (table ? 1 : 3); c++) {
                double va = ra.v[i][c], vb = rb.v[k][c];
                if (va == vb || used >= sizeof line)
                    continue;
                used +=
                    (size_t)snprintf(line + used, sizeof line - used, "%s%s %.6g -> %.6g (%+.6g)",
                                     used ? ", " : "", table ? "" : labels[c], va, vb, vb - va);
            }
            if (used) {
                fprintf(out, "  %-34s %s\n", ra.name[i], line + (table ? 1 : 0));
                header = *differs = true;
            }
        }
        for (; j < rb.n; j++) {
            fprintf(out, "  only in B: %s\n", rb.name[j]);
            header = *differs = true;
        }
        if ((ra.n || rb.n) && !header)
            fputs("  the same\n", out);
        metric_rows_free(&ra);
        metric_rows_free(&rb);
    }
    return MS_OK;
}

ms_status ms_history_diff(ms_history *h, long long a, long long b, FILE *out, bool *differs,
                          ms_diag *diag)
{
    *differs = false;
    ms_status st = run_exists(h, a, diag);
    if (st == MS_OK)
        st = run_exists(h, b, diag);
    if (st != MS_OK)
        return st;
    char **names_a = NULL, **names_b = NULL;
    size_t ma = 0, mb = 0;
    long long(*fa)[4] = NULL, (*fb)[4] = NULL;
    char *hooks_a = NULL, *hooks_b = NULL, *hash_a = NULL, *hash_b = NULL, *text_a = NULL,
         *text_b = NULL;
    diff_scan da = {0}, db = {0};
    st = modifier_names(h, a, &names_a, &ma, diag);
    if (st == MS_OK)
        st = modifier_names(h, b, &names_b, &mb, diag);
    da.n_mods = ma;
    db.n_mods = mb;
    if (st == MS_OK)
        st = call_hashes(h, a, &da, true, diag);
    if (st == MS_OK)
        st = call_hashes(h, b, &db, true, diag);
    uint64_t *ha = da.h.at, *hb = db.h.at;
    size_t na = da.h.n, nb = db.h.n;
    if (st == MS_OK) {
        fa = calloc(ma ? ma : 1, sizeof *fa);
        fb = calloc(mb ? mb : 1, sizeof *fb);
        st = fa && fb ? MS_OK : MS_ERR_NOMEM;
    }
    if (st == MS_OK)
        st = first_flags(h, a, ma, fa, diag);
    if (st == MS_OK)
        st = first_flags(h, b, mb, fb, diag);
    if (st == MS_OK)
        st = hook_set(da.hook_bits, names_a, ma, &hooks_a);
    if (st == MS_OK)
        st = hook_set(db.hook_bits, names_b, mb, &hooks_b);
    if (st == MS_OK)
        st = recipe_of(h, a, &hash_a, &text_a, diag);
    if (st == MS_OK)
        st = recipe_of(h, b, &hash_b, &text_b, diag);
    if (st == MS_OK) {
        fprintf(out, "A: run %lld, %zu calls; B: run %lld, %zu calls\n", a, na, b, nb);
        st = settings_diff(h, a, b, out, differs, diag);
    }
    if (st == MS_OK) {
        size_t first = 0;
        while (first < na && first < nb && ha[first] == hb[first])
            first++;
        if (first < na || first < nb) {
            *differs = true;
            fprintf(out, "first diverging call: %zu\n", first);
        } else {
            fputs("every call the same\n", out);
        }
        bool header = false;
        size_t common = ma < mb ? ma : mb;
        for (size_t m = 0; m < common; m++) {
            bool same_type =
                !strcmp(name_of(names_a, ma, (long long)m), name_of(names_b, mb, (long long)m));
            for (int bit = 0; bit < 4; bit++) {
                if (fa[m][bit] == fb[m][bit] && same_type)
                    continue;
                if (!header)
                    fputs("transitions that moved\n", out);
                header = true;
                *differs = true;
                char ca[32], cb[32];
                snprintf(ca, sizeof ca, fa[m][bit] < 0 ? "never" : "at call %lld", fa[m][bit]);
                snprintf(cb, sizeof cb, fb[m][bit] < 0 ? "never" : "at call %lld", fb[m][bit]);
                if (same_type)
                    fprintf(out, "  %s %s %s in A, %s in B\n", name_of(names_a, ma, (long long)m),
                            flag_words[bit], ca, cb);
                else
                    fprintf(out, "  modifier %zu: %s %s %s in A, %s %s %s in B\n", m,
                            name_of(names_a, ma, (long long)m), flag_words[bit], ca,
                            name_of(names_b, mb, (long long)m), flag_words[bit], cb);
            }
        }
        for (size_t m = common; m < ma || m < mb; m++) {
            *differs = true;
            fprintf(out, "  modifier %zu (%s) is in %s only\n", m,
                    m < ma ? name_of(names_a, ma, (long long)m)
                           : name_of(names_b, mb, (long long)m),
                    m < ma ? "A" : "B");
        }
        fputs("hooks in one run only\n", out);
        if (set_diff(hooks_a, hooks_b, out))
            *differs = true;
        else
            fputs("  none\n", out);
        st = metric_diff(h, a, b, out, differs, diag);
        if (st == MS_OK && strcmp(hash_a, hash_b)) {
            *differs = true;
            fputs("recipe\n", out);
            st = text_diff(text_a, text_b, out);
        } else if (st == MS_OK) {
            fputs("recipe: the same text\n", out);
        }
    }
    free(ha);
    free(hb);
    free(da.hook_bits);
    free(db.hook_bits);
    free_names(names_a, ma);
    free_names(names_b, mb);
    free(fa);
    free(fb);
    free(hooks_a);
    free(hooks_b);
    free(hash_a);
    free(hash_b);
    free(text_a);
    free(text_b);
    if (st == MS_OK && ferror(out))
        st = MS_ERR_IO;
    return st;
}

/* A cursor over one table's rows of a run, in call order. */
static bool cursor_at(sqlite3_stmt *q, int *rc, long long call)
{
    return *rc == SQLITE_ROW && sqlite3_column_int64(q, 0) == call;
}

typedef struct jl_metric {
    size_t modifier, seq;
    char *module, *name;
    bool has_value;
    double value;
} jl_metric;

/* Writing a run as JSON Lines: per call its line, hooks, errors,
 * transitions, then its metrics by modifier, module and name (the last
 * value of each). */
typedef struct jsonl {
    FILE *out;
    sqlite3_stmt *err, *tr;
    int rc_err, rc_tr;
    bool open;
    long long call;
    jl_metric *m;
    size_t nm, cap;
} jsonl;

static int cmp_metric(const void *pa, const void *pb)
{
    const jl_metric *a = pa, *b = pb;
    int c = a->modifier < b->modifier ? -1 : a->modifier > b->modifier;
    if (!c)
        c = strcmp(a->module, b->module);
    if (!c)
        c = strcmp(a->name, b->name);
    if (!c)
        c = a->seq < b->seq ? -1 : a->seq > b->seq;
    return c;
}

static void jsonl_end_call(jsonl *j)
{
    if (!j->open)
        return;
    j->open = false;
    FILE *out = j->out;
    long long call = j->call;
    for (; cursor_at(j->err, &j->rc_err, call); j->rc_err = sqlite3_step(j->err)) {
        fprintf(out, "{\"call\": %lld, \"error\": \"%s\", \"modifier\": ", call,
                col_text(j->err, 2));
        if (sqlite3_column_type(j->err, 1) == SQLITE_NULL)
            fputs("null", out);
        else
            fprintf(out, "%lld", sqlite3_column_int64(j->err, 1));
        fputs(", \"message\": ", out);
        ms_json_fput_string(out, col_text(j->err, 3));
        fputs("}\n", out);
    }
    for (; cursor_at(j->tr, &j->rc_tr, call); j->rc_tr = sqlite3_step(j->tr))
        fprintf(out,
                "{\"call\": %lld, \"modifier\": %lld, \"flags_before\": %d, "
                "\"flags_after\": %d}\n",
                call, sqlite3_column_int64(j->tr, 1), sqlite3_column_int(j->tr, 2),
                sqlite3_column_int(j->tr, 3));
    if (j->nm) /* qsort's pointer must be valid even for no elements */
        qsort(j->m, j->nm, sizeof *j->m, cmp_metric);
    for (size_t i = 0; i < j->nm; i++) {
        const jl_metric *x = &j->m[i];
        /* a metric reported twice in a call keeps its last value */
        if (i + 1 < j->nm && x->modifier == x[1].modifier && !strcmp(x->module, x[1].module) &&
            !strcmp(x->name, x[1].name))
            continue;
        fprintf(out, "{\"call\": %lld, \"modifier\": %zu, \"metric\": ", call, x->modifier);
        ms_json_fput_string(out, x->name);
        fputs(", \"module\": ", out);
        ms_json_fput_string(out, x->module);
        if (!x->has_value)
            fputs(", \"value\": null}\n", out);
        else
            fprintf(out, ", \"value\": %.17g}\n", x->value);
    }
    for (size_t i = 0; i < j->nm; i++) {
        free(j->m[i].module);
        free(j->m[i].name);
    }
    j->nm = 0;
}

static ms_status jsonl_item(void *user, const ms_chunk_item *it)
{
    jsonl *j = user;
    FILE *out = j->out;
    if (it->kind == MS_CHUNK_CALL) {
        jsonl_end_call(j);
        const ms_call *c = &it->what;
        j->open = true;
        j->call = (long long)it->call;
        fprintf(out, "{\"call\": %zu, \"kind\": \"%s\"", it->call, call_kind_names[c->kind]);
        if (on_modifier(c))
            fprintf(out, ", \"modifier\": %zu", c->modifier);
        if (has_event(c))
            fprintf(out, ", \"event\": \"%s\", \"global_step\": %lld",
                    ms_event_type_name(c->event.type), c->event.global_step);
        if (c->has_loss)
            fprintf(out, ", \"loss\": %.17g", c->loss);
        fputs("}\n", out);
    } else if (it->kind == MS_CHUNK_HOOK) {
        fprintf(out, "{\"call\": %zu, \"modifier\": %zu, \"hook\": \"%s\"}\n", it->call,
                it->modifier, ms_hook_name(it->hook));
    } else {
        if (!ms_array_reserve(&j->m, &j->cap, j->nm, sizeof *j->m))
            return MS_ERR_NOMEM;
        jl_metric *x = &j->m[j->nm];
        *x = (jl_metric){it->modifier,       j->nm,         strdup(it->module),
                         strdup(it->metric), it->has_value, it->value};
        j->nm++;
        if (!x->module || !x->name)
            return MS_ERR_NOMEM;
    }
    return ferror(out) ? MS_ERR_IO : MS_OK;
}

ms_status ms_history_export_jsonl(ms_history *h, long long id, FILE *out, ms_diag *diag)
{
    ms_status st = run_exists(h, id, diag);
    if (st != MS_OK)
        return st;
    jsonl j = {.out = out};
    st = prepare(h,
                 "SELECT call, modifier, kind, message FROM error WHERE run = ? ORDER BY call, seq",
                 &j.err, diag);
    if (st == MS_OK)
        st = prepare(h,
                     "SELECT call, modifier, before, after FROM transition WHERE run = ?"
                     " ORDER BY call, modifier",
                     &j.tr, diag);
    if (st == MS_OK) {
        sqlite3_bind_int64(j.err, 1, id);
        sqlite3_bind_int64(j.tr, 1, id);
        j.rc_err = sqlite3_step(j.err);
        j.rc_tr = sqlite3_step(j.tr);
        st = each_item(h, id, jsonl_item, &j, diag);
        jsonl_end_call(&j);
        for (size_t i = 0; i < j.nm; i++) {
            free(j.m[i].module);
            free(j.m[i].name);
        }
    }
    if (st == MS_OK && j.rc_err != SQLITE_DONE && j.rc_err != SQLITE_ROW)
        st = db_fail(h, j.rc_err, diag);
    if (st == MS_OK && j.rc_tr != SQLITE_DONE && j.rc_tr != SQLITE_ROW)
        st = db_fail(h, j.rc_tr, diag);
    sqlite3_finalize(j.err);
    sqlite3_finalize(j.tr);
    free(j.m);
    if (st == MS_OK && ferror(out))
        st = MS_ERR_IO;
    return st;
}

static bool call_kind_parse(const char *name, ms_call_kind *out)
{
    for (size_t i = 0; i < sizeof call_kind_names / sizeof *call_kind_names; i++)
        if (!strcmp(name, call_kind_names[i])) {
            *out = (ms_call_kind)i;
            return true;
        }
    return false;
}

typedef struct call_list {
    ms_call *calls;
    size_t n, cap;
} call_list;

static ms_status collect_call(void *user, const ms_chunk_item *it)
{
    call_list *l = user;
    if (it->kind != MS_CHUNK_CALL)
        return MS_OK;
    if (!ms_array_reserve(&l->calls, &l->cap, l->n, sizeof *l->calls))
        return MS_ERR_NOMEM;
    l->calls[l->n++] = it->what;
    return MS_OK;
}

static bool hook_parse(const char *name, ms_hook *out)
{
    for (int k = 0; k < MS_HOOK_COUNT; k++)
        if (!strcmp(name, ms_hook_name((ms_hook)k))) {
            *out = (ms_hook)k;
            return true;
        }
    return false;
}

/* Writes a chunk of run `id` (in the migration's transaction). */
static ms_status put_chunk(ms_history *h, sqlite3_stmt *ins, long long id, ms_chunk_writer *w,
                           ms_diag *diag)
{
    size_t len;
    const uint8_t *data = ms_chunk_data(w, &len);
    if (!ms_chunk_calls(w))
        return MS_OK;
    sqlite3_bind_int64(ins, 1, id);
    sqlite3_bind_int64(ins, 2, (sqlite3_int64)ms_chunk_first(w));
    sqlite3_bind_int64(ins, 3, (sqlite3_int64)ms_chunk_calls(w));
    sqlite3_bind_blob(ins, 4, data, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    return rc == SQLITE_DONE ? MS_OK : db_fail(h, rc, diag);
}

/* Schema 2 to 3: each run's call, hook and metric rows into chunks, as
 * recording writes them; then the tables go. */
static ms_status pack_v2(ms_history *h, ms_diag *diag)
{
    static const char *const sql[] = {
        "SELECT run, idx, kind, modifier, narrowed, event, global_step, global_batch,"
        " steps_per_epoch, batches_per_step, epoch_based, has_modules, loss FROM call"
        " ORDER BY run, idx",
        "SELECT run, call, modifier, hook FROM hook ORDER BY run, call, seq",
        "SELECT run, call, modifier, module, name, value FROM metric"
        " ORDER BY run, call, modifier, module, name",
        "INSERT INTO chunk(run, first, calls, data) VALUES (?1, ?2, ?3, ?4)",
    };
    enum { C, H, M, INS, N };
    sqlite3_stmt *q[N] = {0};
    int rc[N] = {0};
    ms_status st = MS_OK;
    ms_chunk_writer *w = ms_chunk_writer_new();
    if (!w)
        st = MS_ERR_NOMEM;
    for (int i = 0; i < N && st == MS_OK; i++)
        st = prepare(h, sql[i], &q[i], diag);
    for (int i = 0; i < INS && st == MS_OK; i++)
        rc[i] = sqlite3_step(q[i]);
    long long run = -1;
    while (st == MS_OK && rc[C] == SQLITE_ROW) {
        long long r = sqlite3_column_int64(q[C], 0), idx = sqlite3_column_int64(q[C], 1);
        if (r != run || ms_chunk_calls(w) >= BATCH_CALLS) {
            st = put_chunk(h, q[INS], run, w, diag);
            run = r;
            ms_chunk_writer_reset(w, (size_t)idx);
        }
        ms_call c = {0};
        if (st == MS_OK && !call_kind_parse(col_text(q[C], 2), &c.kind))
            st = ms_diag_set(diag, MS_ERR_INVALID, "E-HISTORY", h->path, 0, 0,
                             "run %lld, call %lld of %s: unknown call kind '%s'", r, idx, h->path,
                             col_text(q[C], 2));
        if (st != MS_OK)
            break;
        c.modifier = (size_t)sqlite3_column_int64(q[C], 3);
        c.narrowed = sqlite3_column_int(q[C], 4);
        if (sqlite3_column_type(q[C], 5) != SQLITE_NULL &&
            !ms_event_type_parse(col_text(q[C], 5), &c.event.type)) {
            st = ms_diag_set(diag, MS_ERR_INVALID, "E-HISTORY", h->path, 0, 0,
                             "run %lld, call %lld of %s: unknown event '%s'", r, idx, h->path,
                             col_text(q[C], 5));
            break;
        }
        c.event.global_step = sqlite3_column_int64(q[C], 6);
        c.event.global_batch = sqlite3_column_int64(q[C], 7);
        c.event.steps_per_epoch = sqlite3_column_int64(q[C], 8);
        c.event.batches_per_step = sqlite3_column_int64(q[C], 9);
        c.event.epoch_based = sqlite3_column_int(q[C], 10);
        c.event.has_modules = sqlite3_column_int(q[C], 11);
        c.has_loss = sqlite3_column_type(q[C], 12) != SQLITE_NULL;
        c.loss = sqlite3_column_double(q[C], 12);
        bool ok = ms_chunk_call(w, &c);
        /* rows of calls the call table lacks are dropped with it */
        while (rc[H] == SQLITE_ROW &&
               (sqlite3_column_int64(q[H], 0) < r ||
                (sqlite3_column_int64(q[H], 0) == r && sqlite3_column_int64(q[H], 1) <= idx))) {
            ms_hook hook;
            if (sqlite3_column_int64(q[H], 0) == r && sqlite3_column_int64(q[H], 1) == idx &&
                hook_parse(col_text(q[H], 3), &hook))
                ok = ok && ms_chunk_hook(w, (size_t)sqlite3_column_int64(q[H], 2), hook);
            rc[H] = sqlite3_step(q[H]);
        }
        while (rc[M] == SQLITE_ROW &&
               (sqlite3_column_int64(q[M], 0) < r ||
                (sqlite3_column_int64(q[M], 0) == r && sqlite3_column_int64(q[M], 1) <= idx))) {
            if (sqlite3_column_int64(q[M], 0) == r && sqlite3_column_int64(q[M], 1) == idx)
                ok = ok &&
                     ms_chunk_metric(w, (size_t)sqlite3_column_int64(q[M], 2), col_text(q[M], 3),
                                     col_text(q[M], 4), sqlite3_column_type(q[M], 5) != SQLITE_NULL,
                                     sqlite3_column_double(q[M], 5));
            rc[M] = sqlite3_step(q[M]);
        }
        if (!ok)
            st = MS_ERR_NOMEM;
        if (st == MS_OK)
            rc[C] = sqlite3_step(q[C]);
    }
    if (st == MS_OK && run >= 0)
        st = put_chunk(h, q[INS], run, w, diag);
    for (int i = 0; i < INS && st == MS_OK; i++)
        if (rc[i] != SQLITE_DONE && rc[i] != SQLITE_ROW)
            st = db_fail(h, rc[i], diag);
    for (int i = 0; i < N; i++)
        sqlite3_finalize(q[i]);
    ms_chunk_writer_free(w);
    if (st == MS_OK)
        st = exec_d(h, "DROP TABLE call; DROP TABLE hook; DROP TABLE metric", diag);
    return st;
}

ms_status ms_history_export_scenario(ms_history *h, long long id, FILE *out, ms_diag *diag)
{
    sqlite3_stmt *q;
    ms_status st = prepare(h,
                           "SELECT x.text, r.profile, r.index_mode, r.steps_per_epoch,"
                           " r.batches_per_step, r.calibration_data, r.clock, r.recipe_path"
                           " FROM run r LEFT JOIN recipe x ON x.hash = r.replay_hash"
                           " WHERE r.id = ?",
                           &q, diag);
    if (st != MS_OK)
        return st;
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(q);
        return rc == SQLITE_DONE ? no_run(h, id, diag) : db_fail(h, rc, diag);
    }
    if (sqlite3_column_type(q, 0) == SQLITE_NULL) {
        sqlite3_finalize(q);
        return ms_diag_set(diag, MS_ERR_INVALID, "E-HISTORY-RUN", h->path, 0, 0,
                           "run %lld of %s was kept without its recipe in upstream layout: it "
                           "cannot be written as a scenario",
                           id, h->path);
    }
    char comment[768];
    snprintf(comment, sizeof comment, "run %lld of %s: %s (%s)", id, base_name(h->path),
             col_text(q, 6), col_text(q, 7));
    for (char *p = comment; *p; p++)
        if (*p == '\n')
            *p = ' ';
    ms_scenario_header hd = {
        .comment = comment,
        .index_mode = !strcmp(col_text(q, 2), "upstream") ? MS_INDEX_UPSTREAM : MS_INDEX_STEP,
        .steps_per_epoch = sqlite3_column_int64(q, 3),
        .batches_per_step = sqlite3_column_int64(q, 4),
        .no_calibration_data = !sqlite3_column_int(q, 5),
    };
    if (!ms_upstream_parse(col_text(q, 1), &hd.upstream))
        hd.upstream = MS_UPSTREAM_0_12;
    char *recipe = strdup(col_text(q, 0));
    sqlite3_finalize(q);
    if (!recipe)
        return MS_ERR_NOMEM;
    call_list cl = {0};
    st = each_item(h, id, collect_call, &cl, diag);
    ms_call *calls = cl.calls;
    size_t n = cl.n;
    if (st == MS_OK)
        st = ms_scenario_write(out, &hd, recipe, calls, n);
    free(calls);
    free(recipe);
    return st;
}

/* The run `id` again, as today's modsim runs its calls (its scenario, as
 * export writes it), recorded into `mh`'s run 1. */
static ms_status resimulate(ms_history *h, long long id, ms_history *mh, size_t *n, ms_diag *diag)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return MS_ERR_NOMEM;
    ms_status st = ms_history_export_scenario(h, id, mem, diag);
    if (fclose(mem) != 0 && st == MS_OK)
        st = MS_ERR_NOMEM;
    ms_scenario *sc = NULL;
    ms_diag_list diags;
    ms_diag_list_init(&diags);
    if (st == MS_OK && ms_scenario_parse(text, len, h->path, &sc, &diags) != MS_OK) {
        const ms_diag *first = diags.count ? &diags.items[0] : NULL;
        st = ms_diag_set(diag, MS_ERR_INVALID, "E-HISTORY-RUN", h->path, 0, 0,
                         "run %lld of %s cannot be run again: its scenario is refused (%s)", id,
                         h->path, first ? first->message : "no reason given");
    }
    ms_diag_list_free(&diags);
    free(text);
    ms_lifecycle *lc = NULL;
    ms_history_run *run = NULL;
    ms_runner *runner = NULL;
    if (st == MS_OK)
        st = ms_recipe_build_lifecycle(ms_scenario_recipe(sc), &lc, diag);
    if (st == MS_OK) {
        ms_lifecycle_set_upstream(lc, ms_scenario_upstream(sc));
        ms_lifecycle_set_calibration_data(lc, ms_scenario_calibration_data(sc));
        st = ms_history_run_begin(mh, &(ms_history_settings){0}, lc, &run, diag);
    }
    ms_sink sink = run ? ms_history_run_sink(run) : (ms_sink){0};
    if (st == MS_OK)
        st = ms_runner_new(lc, &sink, &runner);
    *n = st == MS_OK ? ms_scenario_call_count(sc) : 0;
    for (size_t i = 0; i < *n; i++) {
        ms_raise raised;
        ms_runner_call(runner, ms_scenario_call_at(sc, i), i, &raised);
    }
    ms_runner_free(runner);
    if (run) {
        ms_status end = ms_history_run_end(run, MS_HISTORY_COMPLETED, diag);
        if (st == MS_OK)
            st = end;
    }
    ms_lifecycle_free(lc);
    ms_scenario_free(sc);
    return st;
}

ms_status ms_history_check(ms_history *h, long long id, FILE *out, bool *agrees, size_t *first_out,
                           ms_diag *diag)
{
    *agrees = false;
    *first_out = 0;
    /* without `out` the words go nowhere: the caller wants the call only */
    bool own = !out;
    if (own && !(out = fopen("/dev/null", "w")))
        return MS_ERR_IO;
    ms_history *mh = NULL;
    char **names = NULL;
    size_t nn = 0, n = 0;
    diff_scan rec = {0}, now = {0};
    long long(*fa)[4] = NULL, (*fb)[4] = NULL;
    ms_status st = modifier_names(h, id, &names, &nn, diag);
    if (st == MS_OK)
        st = ms_history_open(":memory:", true, &mh, diag);
    if (st == MS_OK)
        st = resimulate(h, id, mh, &n, diag);
    rec.n_mods = now.n_mods = nn;
    /* the model's work is not done again: weights checksums are left out */
    if (st == MS_OK)
        st = call_hashes(h, id, &rec, false, diag);
    if (st == MS_OK)
        st = call_hashes(mh, 1, &now, false, diag);
    if (st == MS_OK) {
        fa = calloc(nn ? nn : 1, sizeof *fa);
        fb = calloc(nn ? nn : 1, sizeof *fb);
        st = fa && fb ? MS_OK : MS_ERR_NOMEM;
    }
    if (st == MS_OK)
        st = first_flags(h, id, nn, fa, diag);
    if (st == MS_OK)
        st = first_flags(mh, 1, nn, fb, diag);
    if (st == MS_OK) {
        size_t first = 0;
        while (first < rec.h.n && first < now.h.n && rec.h.at[first] == now.h.at[first])
            first++;
        *agrees = first == rec.h.n && first == now.h.n;
        *first_out = first;
        fprintf(out, "run %lld: %zu calls recorded, %zu run again by this modsim\n", id, rec.h.n,
                now.h.n);
        if (*agrees) {
            fputs("today's modsim agrees with the record on every call\n", out);
        } else {
            fprintf(out, "first call where today's modsim disagrees with the record: %zu\n", first);
            for (size_t m = 0; m < nn; m++)
                for (int bit = 0; bit < 4; bit++) {
                    if (fa[m][bit] == fb[m][bit])
                        continue;
                    char ca[32], cb[32];
                    snprintf(ca, sizeof ca, fa[m][bit] < 0 ? "never" : "at call %lld", fa[m][bit]);
                    snprintf(cb, sizeof cb, fb[m][bit] < 0 ? "never" : "at call %lld", fb[m][bit]);
                    fprintf(out, "  %s[%zu] %s %s in the record, %s now\n",
                            name_of(names, nn, (long long)m), m, flag_words[bit], ca, cb);
                }
        }
    }
    free(rec.h.at);
    free(now.h.at);
    free(rec.hook_bits);
    free(now.hook_bits);
    free(fa);
    free(fb);
    free_names(names, nn);
    ms_history_close(mh);
    if (st == MS_OK && ferror(out))
        st = MS_ERR_IO;
    if (own)
        fclose(out);
    return st;
}

/* Recipes no run refers to any more. */
static ms_status drop_orphan_recipes(ms_history *h, ms_diag *diag)
{
    return exec_d(h,
                  "DELETE FROM recipe WHERE hash NOT IN (SELECT recipe_hash FROM run WHERE"
                  " recipe_hash IS NOT NULL UNION SELECT replay_hash FROM run WHERE replay_hash"
                  " IS NOT NULL)",
                  diag);
}

static ms_status delete_run(ms_history *h, long long id, ms_diag *diag)
{
    sqlite3_stmt *q;
    ms_status st = prepare(h, "DELETE FROM run WHERE id = ?", &q, diag);
    if (st != MS_OK)
        return st;
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? MS_OK : db_fail(h, rc, diag);
}

ms_status ms_history_rm(ms_history *h, long long id, ms_diag *diag)
{
    ms_status st = run_exists(h, id, diag);
    if (st == MS_OK)
        st = exec_d(h, "BEGIN IMMEDIATE", diag);
    if (st != MS_OK)
        return st;
    st = delete_run(h, id, diag);
    if (st == MS_OK)
        st = drop_orphan_recipes(h, diag);
    if (st == MS_OK)
        return exec_d(h, "COMMIT", diag);
    exec(h, "ROLLBACK");
    return st;
}

ms_status ms_history_gc(ms_history *h, long long keep, long long older_than_s, size_t *removed,
                        ms_diag *diag)
{
    *removed = 0;
    ms_status st = exec_d(h, "BEGIN IMMEDIATE", diag);
    if (st != MS_OK)
        return st;
    rows r;
    st = rows_open(h, "SELECT id, status, pid, started FROM run ORDER BY id DESC LIMIT -1 OFFSET ?",
                   keep, &r, diag);
    long long *ids = NULL;
    size_t n = 0, cap = 0;
    if (st == MS_OK) {
        sqlite3_stmt *q = r.q;
        long long now = (long long)time(NULL);
        while (st == MS_OK && rows_next(&r)) {
            /* a run still being written is not garbage */
            if (!strcmp(shown_status(col_text(q, 1), sqlite3_column_int64(q, 2)), "running"))
                continue;
            if (older_than_s > 0 && sqlite3_column_int64(q, 3) > now - older_than_s)
                continue;
            if (!ms_array_reserve(&ids, &cap, n, sizeof *ids)) {
                st = MS_ERR_NOMEM;
                break;
            }
            ids[n++] = sqlite3_column_int64(q, 0);
        }
        st = rows_close(&r, st, diag);
    }
    for (size_t i = 0; st == MS_OK && i < n; i++)
        st = delete_run(h, ids[i], diag);
    free(ids);
    if (st == MS_OK)
        st = drop_orphan_recipes(h, diag);
    if (st == MS_OK)
        st = exec_d(h, "COMMIT", diag);
    if (st != MS_OK) {
        exec(h, "ROLLBACK");
        return st;
    }
    *removed = n;
    return MS_OK;
}
