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
#include "../scenario/scenario.h"

/* Calls per transaction while recording: large enough that commits (each a
 * WAL append) cost little, small enough that a killed run loses little. */
#define BATCH_CALLS 1024

/* A writer waits this long for another writer before giving up. */
#define BUSY_TIMEOUT_MS 30000

struct ms_history {
    sqlite3 *db;
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

/* Version 1. Each later version appends one script; a file at version k runs
 * scripts k.. in one transaction. */
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
    "  SELECT t.run, t.call, t.modifier, m.type,\n"
    "    CASE WHEN (t.after & ~t.before) & 1 THEN 'initialized'\n"
    "         WHEN (t.after & ~t.before) & 2 THEN 'started'\n"
    "         WHEN (t.after & ~t.before) & 4 THEN 'ended'\n"
    "         WHEN (t.after & ~t.before) & 8 THEN 'finalized'\n"
    "         ELSE 'reset' END AS what, t.before, t.after\n"
    "  FROM transition t JOIN modifier m ON m.run = t.run AND m.idx = t.modifier\n"
    "  ORDER BY t.run, t.call, t.modifier;\n"
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
};
#define SCHEMA_COUNT (sizeof migrations / sizeof *migrations)
_Static_assert(SCHEMA_COUNT == MS_HISTORY_SCHEMA, "one migration per schema version");

/* `diag` for an SQLite failure on the history file, with what to do. */
static ms_status db_fail(ms_history *h, int rc, ms_diag *diag)
{
    const char *what = h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc);
    int base = rc & 0xff;
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
    for (int v = version; v < MS_HISTORY_SCHEMA && st == MS_OK; v++)
        st = exec_d(h, migrations[v], diag);
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
        /* journal_mode answers with a row; a file that is not a database fails here */
        st = exec_d(h, "PRAGMA journal_mode=WAL", diag);
    }
    if (st == MS_OK)
        st = exec_d(h, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL", diag);
    if (st == MS_OK)
        st = migrate(h, diag);
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

enum { Q_CALL, Q_HOOK, Q_TRANSITION, Q_ERROR, Q_METRIC, Q_CALLS, Q_COUNT };

static const char *const record_sql[Q_COUNT] = {
    "INSERT INTO call VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    "INSERT INTO hook VALUES (?1, ?2, ?3, ?4, ?5)",
    "INSERT OR REPLACE INTO transition VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
    "INSERT INTO error VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    "INSERT OR REPLACE INTO metric VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    "UPDATE run SET calls = ?2 WHERE id = ?1",
};

struct ms_history_run {
    ms_history *h;
    long long id;
    sqlite3_stmt *q[Q_COUNT];
    size_t calls, in_batch;
    int seq; /* hooks and errors within the current call */
    bool in_txn;
    int failed; /* the first SQLite error; recording stops there */
};

static const char *const call_kind_names[] = {
    "initialize",        "event", "finalize", "modifier_initialize", "modifier_update_event",
    "modifier_finalize",
};

static bool step_done(ms_history_run *run, sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc == SQLITE_DONE)
        return true;
    run->failed = rc;
    return false;
}

static void batch_commit(ms_history_run *run)
{
    if (!run->in_txn || run->failed)
        return;
    sqlite3_stmt *q = run->q[Q_CALLS];
    sqlite3_bind_int64(q, 1, run->id);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)run->calls);
    if (!step_done(run, q))
        return;
    int rc = exec(run->h, "COMMIT");
    if (rc != SQLITE_OK)
        run->failed = rc;
    run->in_txn = false;
    run->in_batch = 0;
}

static void record_call(ms_history_run *run, const ms_record *r)
{
    sqlite3_stmt *q = run->q[Q_CALL];
    const ms_call *c = r->what;
    sqlite3_bind_int64(q, 1, run->id);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)r->call);
    sqlite3_bind_text(q, 3, call_kind_names[c->kind], -1, SQLITE_STATIC);
    bool on_modifier = ms_call_is_direct(c) || (c->kind == MS_CALL_EVENT && c->narrowed);
    bool has_event = c->kind == MS_CALL_EVENT || c->kind == MS_CALL_MODIFIER_UPDATE_EVENT;
    if (on_modifier)
        sqlite3_bind_int64(q, 4, (sqlite3_int64)c->modifier);
    else
        sqlite3_bind_null(q, 4);
    sqlite3_bind_int(q, 5, c->narrowed);
    for (int i = 6; i <= 12; i++)
        sqlite3_bind_null(q, i);
    if (has_event) {
        sqlite3_bind_text(q, 6, ms_event_type_name(c->event.type), -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 7, c->event.global_step);
        sqlite3_bind_int64(q, 8, c->event.global_batch);
        sqlite3_bind_int64(q, 9, c->event.steps_per_epoch);
        sqlite3_bind_int64(q, 10, c->event.batches_per_step);
        sqlite3_bind_int(q, 11, c->event.epoch_based);
        sqlite3_bind_int(q, 12, c->event.has_modules);
    }
    if (c->has_loss)
        sqlite3_bind_double(q, 13, c->loss);
    else
        sqlite3_bind_null(q, 13);
    step_done(run, q);
}

static void record_emit(void *user, const ms_record *r)
{
    ms_history_run *run = user;
    if (run->failed)
        return;
    if (!run->in_txn) {
        int rc = exec(run->h, "BEGIN IMMEDIATE");
        if (rc != SQLITE_OK) {
            run->failed = rc;
            return;
        }
        run->in_txn = true;
    }
    sqlite3_stmt *q;
    switch (r->kind) {
    case MS_REC_CALL_BEGUN:
        run->seq = 0;
        record_call(run, r);
        break;
    case MS_REC_HOOK:
        q = run->q[Q_HOOK];
        sqlite3_bind_int64(q, 1, run->id);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)r->call);
        sqlite3_bind_int(q, 3, run->seq++);
        sqlite3_bind_int64(q, 4, (sqlite3_int64)r->modifier);
        sqlite3_bind_text(q, 5, ms_hook_name(r->hook), -1, SQLITE_STATIC);
        step_done(run, q);
        break;
    case MS_REC_FLAGS:
        q = run->q[Q_TRANSITION];
        sqlite3_bind_int64(q, 1, run->id);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)r->call);
        sqlite3_bind_int64(q, 3, (sqlite3_int64)r->modifier);
        sqlite3_bind_int(q, 4, (int)r->flags_before);
        sqlite3_bind_int(q, 5, (int)r->flags_after);
        step_done(run, q);
        break;
    case MS_REC_ERROR:
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
    case MS_REC_METRIC:
        q = run->q[Q_METRIC];
        sqlite3_bind_int64(q, 1, run->id);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)r->call);
        sqlite3_bind_int64(q, 3, (sqlite3_int64)r->modifier);
        sqlite3_bind_text(q, 4, r->module ? r->module : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 5, r->metric ? r->metric : "", -1, SQLITE_STATIC);
        if (r->has_value)
            sqlite3_bind_double(q, 6, r->value);
        else
            sqlite3_bind_null(q, 6);
        step_done(run, q);
        break;
    case MS_REC_CALL_ENDED:
        run->calls = r->call + 1;
        if (++run->in_batch >= BATCH_CALLS)
            batch_commit(run);
        break;
    }
}

static void bind_text_or_null(sqlite3_stmt *q, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(q, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
}

static void run_free(ms_history_run *run)
{
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(run->q[i]);
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
    ms_status st = exec_d(h, "BEGIN IMMEDIATE", diag);
    if (st != MS_OK) {
        free(run);
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

ms_status ms_history_run_end(ms_history_run *run, ms_history_status status, ms_diag *diag)
{
    ms_history *h = run->h;
    batch_commit(run);
    int failed = run->failed;
    if (run->in_txn)
        exec(h, "ROLLBACK");
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(h->db, "UPDATE run SET status = ?2, ended = ?3 WHERE id = ?1", -1,
                                &q, NULL);
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
