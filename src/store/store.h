/* Accounts, their JWT keys and their Configurable TURN policy, in one
 * SQLite file (WAL mode, versioned schema migrations).
 *
 * A small table of operations, not an ORM: create/get/update/delete an
 * account (its TURN policy and custom servers travel with it), add and
 * remove keys, and load an immutable in-memory snapshot of everything for
 * the request path. Readers never touch SQLite per request: the API swaps
 * in a new snapshot when store_data_version() changes.
 *
 * Every function returns 0 or an errno value: ENOENT (no such account or
 * key), EEXIST (name or kid taken), EINVAL (a field out of range), ENOMEM,
 * EIO (SQLite failed: unreadable, corrupt, disk full). A struct store is
 * one connection guarded by its own mutex, so any thread may call it. */
#ifndef TS_STORE_H
#define TS_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_NAME_MAX 64     /* account name: [a-z0-9][a-z0-9_-]{0,62} */
#define STORE_ISSUER_MAX 256
#define STORE_KID_MAX 64      /* [A-Za-z0-9._-]{1,63} */
#define STORE_ALG_MAX 8       /* "HS256" "RS256" "ES256" "EdDSA" */
#define STORE_URL_MAX 256
#define STORE_URLS_MAX 4      /* urls per custom server */
#define STORE_SERVERS_MAX 4   /* custom servers per account */
#define STORE_CRED_MAX 256
#define STORE_KEYMAT_MAX 8192 /* HS256 secret or PEM public key */
/* Shown in place of a stored credential or secret; refused as a value. */
#define STORE_REDACTED "(redacted)"

enum store_turn_mode {
	STORE_TURN_PLATFORM = 0, /* platform servers only (default) */
	STORE_TURN_OVERRIDE,     /* the account's own servers only */
	STORE_TURN_FALLBACK,     /* platform first, then the account's */
};
const char *store_turn_mode_str(enum store_turn_mode m);
/* "platform" | "override" | "fallback" -> mode; EINVAL otherwise. */
int store_turn_mode_parse(const char *s, enum store_turn_mode *m);

/* A customer's own TURN/STUN server: either a static username/credential,
 * or a shared secret from which REST credentials are minted per request
 * (exactly one of the two, or neither for a stun: only server). */
struct store_server {
	unsigned nurls;
	char urls[STORE_URLS_MAX][STORE_URL_MAX];
	char username[STORE_CRED_MAX];
	char credential[STORE_CRED_MAX];
	char secret[STORE_CRED_MAX];
};

struct store_account {
	int64_t id; /* assigned by the store */
	char name[STORE_NAME_MAX];
	bool disabled;
	bool configurable_turn; /* paid feature: custom servers allowed */
	uint32_t default_ttl;   /* seconds; 1..max_ttl */
	uint32_t max_ttl;       /* seconds; 1..604800 */
	uint32_t rate_per_s;    /* API requests per second; 0 = no limit */
	uint32_t rate_burst;
	/* The same per end user, (account, JWT sub): one token holder
	 * cannot spend the whole account's rate; 0 = no limit. */
	uint32_t user_rate_per_s;
	uint32_t user_rate_burst;
	char issuer[STORE_ISSUER_MAX]; /* expected JWT iss */
	enum store_turn_mode mode;
	bool relay_only; /* iceTransportPolicy "relay" instead of "all" */
	unsigned nservers;
	struct store_server *servers; /* nservers entries, heap; may be NULL */
	int64_t created; /* unix seconds */
};

/* Defaults for a new account: enabled, feature off, default_ttl 86400,
 * max_ttl 86400, rate 100/s burst 200, issuer = name, mode platform,
 * iceTransportPolicy all, no servers. */
void store_account_init(struct store_account *a, const char *name);
/* Frees a->servers (the struct itself is the caller's). */
void store_account_clear(struct store_account *a);
/* Checks names, TTLs, modes, text (UTF-8, no control characters), server
 * shapes (urls as browsers take them, util/iceurl.h; static xor secret,
 * never STORE_REDACTED; custom servers or a non-platform mode only with
 * configurable_turn; override needs a server). 0 or EINVAL; *field names the first bad field
 * ("name", "max_ttl", "servers[1].urls[0]", ...). */
int store_account_validate(const struct store_account *a,
			   const char **field);
/* The fields of custom server i as the admin API and the validation
 * above name them: "servers[1]", "servers[1].urls", "servers[1].urls[0]",
 * "servers[1].secret". */
enum store_srv_field {
	STORE_SRV_SELF,
	STORE_SRV_URLS,
	STORE_SRV_URL0, /* urls[j] is STORE_SRV_URL0 + j */
	STORE_SRV_USERNAME = STORE_SRV_URL0 + STORE_URLS_MAX,
	STORE_SRV_CREDENTIAL,
	STORE_SRV_SECRET,
	STORE_SRV_NFIELDS
};
/* A static string; "servers" when i or f is out of range. */
const char *store_srv_field(unsigned i, enum store_srv_field f);
/* true if name is a valid account name (the "name" check above). */
bool store_account_name_valid(const char *name);

struct store_key {
	char kid[STORE_KID_MAX];
	char alg[STORE_ALG_MAX];
	char account[STORE_NAME_MAX]; /* owner's name */
	size_t len;
	uint8_t *material; /* heap */
	int64_t created;
};

struct store;

/* Opens or creates path, sets WAL and synchronous=FULL (an acknowledged
 * write survives SIGKILL and power loss), runs pending migrations, each
 * in one transaction. Refused, the file left as it was (logged, naming
 * the path): a path that cannot be created (open(2)'s errno: ENOENT for
 * a missing directory, EACCES, EROFS), a file we may not write (EACCES),
 * a newer schema, another program's SQLite database, a file that is not
 * one or is damaged (EIO). */
int store_open(struct store **sp, const char *path);
void store_close(struct store *s);

int store_account_create(struct store *s, struct store_account *a);
/* Out: *a filled (a->servers allocated; release with
 * store_account_clear). */
int store_account_get(struct store *s, const char *name,
		      struct store_account *a);
/* Replaces every field but id/created, servers included, in one
 * transaction. */
int store_account_update(struct store *s, const struct store_account *a);
/* Edits one account: fn gets it as stored (servers included; fn may
 * point a->servers at an array of its own) and changes it; it is then
 * validated and written back, all inside one write transaction, so a
 * concurrent writer (another thread, the CLI) cannot slip a commit in
 * between and have it undone. fn's error is returned as is (the
 * transaction rolls back); ENOENT when there is no such account, EINVAL
 * when the result does not validate. */
typedef int(store_account_edit_h)(struct store_account *a, void *arg);
int store_account_modify(struct store *s, const char *name,
			 store_account_edit_h *fn, void *arg);
/* Deletes the account, its keys and servers. */
int store_account_delete(struct store *s, const char *name);

/* kid is unique across all accounts. */
int store_key_add(struct store *s, const struct store_key *k);
int store_key_remove(struct store *s, const char *account, const char *kid);

/* A blocked end user (store_block.c). */
#define STORE_SUB_MAX 128 /* a JWT sub: printable ASCII without ':' */
struct store_block {
	char account[STORE_NAME_MAX];
	char sub[STORE_SUB_MAX];
	int64_t created; /* unix seconds */
};
/* 0, EEXIST (already blocked), ENOENT (no such account), EINVAL (sub
 * is not a valid JWT sub). */
int store_block_add(struct store *s, const char *account, const char *sub);
/* 0 or ENOENT (no such account or block). */
int store_block_remove(struct store *s, const char *account, const char *sub);

/* Everything, read in one transaction; immutable once returned. */
struct store_snap {
	uint64_t version; /* store_data_version() when it was read */
	size_t naccounts;
	struct store_account *accounts; /* sorted by name */
	size_t nkeys;
	struct store_key *keys; /* sorted by kid */
	size_t nblocks;
	struct store_block *blocks; /* sorted by account, then sub */
	/* Accounts deleted while credentials minted for them may still be
	 * valid (schema 5): TURN refuses those as a disabled account's. */
	size_t ndeleted;
	char (*deleted)[STORE_NAME_MAX]; /* sorted */
};
int store_snapshot(struct store *s, struct store_snap **snapp);
void store_snap_free(struct store_snap *snap);
/* bsearch lookups; NULL when absent. */
const struct store_account *store_snap_account(const struct store_snap *snap,
					       const char *name);
const struct store_key *store_snap_key(const struct store_snap *snap,
				       const char *kid);
const struct store_block *store_snap_block(const struct store_snap *snap,
					   const char *account, const char *sub);
/* The accounts whose minted credentials are refused: the disabled ones
 * and those deleted too recently. *names is heap (free() it), pointing
 * into snap; 0 or ENOMEM. */
int store_snap_refused(const struct store_snap *snap, const char ***names,
		       size_t *n);

/* Usage records of ended TURN allocations (issue 5). A field holds a
 * whole TURN username (the TURN core's 255 bytes): the API mints up to
 * "<expiry>:" + 63 + ":" + 127 bytes, and a cut user-id would count two
 * users as one. */
#define STORE_USAGE_STR 256
struct store_usage {
	char account[STORE_USAGE_STR];  /* REST <expires>:<account>:<sub>, else the realm */
	char userid[STORE_USAGE_STR];
	char username[STORE_USAGE_STR];
	char realm[STORE_USAGE_STR];
	char transport[8];              /* "udp" "tcp" "dtls" "tls" */
	int family;                     /* 4 or 6: the client's */
	int64_t start, end;             /* unix seconds */
	uint64_t c2p_bytes, c2p_packets, p2c_bytes, p2c_packets;
	char reason[16];                /* "expired" "refresh" "closed" "shutdown" */
};
/* Appends n records in one transaction. */
int store_usage_add(struct store *s, const struct store_usage *u, size_t n);
/* The records of account that ended at or after since, oldest first, at
 * most max; *out is heap (free()), *n its length. */
int store_usage_list(struct store *s, const char *account, int64_t since,
		     size_t max, struct store_usage **out, size_t *n);

/* A number that changes whenever any connection (another process too, such
 * as the CLI) commits. 0 or EIO. */
int store_data_version(struct store *s, uint64_t *v);
/* 0 while the file at the opened path is still the one we opened and
 * still reads as an SQLite database; ESTALE when the path was removed or
 * now names another file (a restore: reopen it); EIO when our file's
 * header no longer reads (truncated, a failed disk). Cheap enough to call
 * every second; it never opens the database file (that would drop
 * SQLite's POSIX locks). */
int store_check(struct store *s);
/* Whether store_open could open path, without creating or changing
 * anything (serve --check-config): 0 for an SQLite database (or an empty
 * file) we may read and write, or a missing file in a directory we may
 * write; EINVAL for a file that is not a database, or that store_open
 * refuses by its header (a newer schema, another program's database),
 * *why saying which; else the errno of what failed (ENOENT for a missing
 * directory, EACCES). Opens and closes the file: never while a store of
 * this process has it open (that close would drop SQLite's POSIX
 * locks). */
int store_file_check(const char *path, const char **why);

/* coturn's SQLite user database (its userdb, what `turnadmin -b` writes),
 * opened read-only and never changed: the rows of one realm that
 * Turnstone can use (store_coturn.c). */
enum store_coturn_kind {
	STORE_COTURN_USER,    /* turnusers_lt: name, and hmackey in key */
	STORE_COTURN_SECRET,  /* turn_secret: a REST shared secret */
	STORE_COTURN_ALLOWED, /* allowed_peer_ip: an address or range */
	STORE_COTURN_DENIED,  /* denied_peer_ip */
};
/* One row; a non-zero return stops the read and is returned. */
typedef int(store_coturn_h)(void *arg, enum store_coturn_kind kind,
			    const char *value, const char *key);
/* ENOENT (no such file), EIO (not an SQLite file, or none of coturn's
 * tables; why says which), or h's error. */
int store_coturn_read(const char *path, const char *realm, store_coturn_h *h,
		      void *arg, char *why, size_t whysz);

#endif
