/* userdb (coturn's -b): the long-term users, REST secrets and peer
 * ranges that coturn's SQLite user database holds for our realm, read
 * into a TURN configuration as it is built, at start and on every
 * SIGHUP. What cannot be used is a startup (or reload) error naming
 * 'userdb', never a user silently left out. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_int.h"
#include "store/store.h"
#include "util/bytes.h"
#include "util/log.h"

#ifndef USERDB_MAX_USERS /* (a test sets a small one) */
#define USERDB_MAX_USERS 1000000
#endif

struct userdb_load {
	struct turn_cfg *t;
	struct peer_policy *p;
	struct turn_user *u;
	unsigned n, cap, nranges, nsecrets;
	FILE *err;
};

static int userdb_user(struct userdb_load *l, const char *name, const char *hex)
{
	uint8_t key[16]; /* coturn's hmackey: MD5(user:realm:pass), in hex */
	if (bytes_from_hex(hex, key, 16) != 0) {
		fprintf(l->err, "turnstone: 'userdb': user '%s' has a key that is "
			"not 32 hex digits (MD5(user:realm:password); a key "
			"encrypted with coturn's secret-key-file cannot be "
			"used)\n", name);
		return EINVAL;
	}
	if (l->n == l->cap) {
		/* The last step only up to the limit: doubling past it would
		 * refuse any number above the last power of two below it. */
		unsigned cap = l->cap ? l->cap * 2 : 64;
		if (cap > USERDB_MAX_USERS)
			cap = USERDB_MAX_USERS;
		struct turn_user *u = cap > l->cap ? malloc(cap * sizeof(*u)) : NULL;
		if (!u && cap > l->cap)
			fprintf(l->err, "turnstone: 'userdb': out of memory "
				"for its users\n");
		else if (!u)
			fprintf(l->err, "turnstone: 'userdb': too many users "
				"(at most %u)\n", USERDB_MAX_USERS);
		if (!u)
			return ENOMEM;
		/* Not realloc: the old block holds MD5 keys, wiped first. */
		if (l->u) {
			memcpy(u, l->u, l->n * sizeof(*u));
			explicit_bzero(l->u, l->cap * sizeof(*l->u));
			free(l->u);
		}
		l->u = u;
		l->cap = cap;
	}
	int err = name[0] ? turn_user_set_md5(&l->u[l->n], name, key, l->t->realm)
			  : EINVAL;
	explicit_bzero(key, sizeof(key));
	if (err) {
		fprintf(l->err, "turnstone: 'userdb': user name '%.40s...' is "
			"empty or longer than %d bytes\n", name, TURN_MAX_USERNAME - 1);
		return err;
	}
	l->n++;
	return 0;
}

static int userdb_secret(struct userdb_load *l, const char *value)
{
	struct turn_cfg *t = l->t;
	if (!value[0] || strlen(value) >= sizeof(t->secrets[0]) ||
	    t->nsecrets >= TURN_MAX_SECRETS) {
		fprintf(l->err, "turnstone: 'userdb': a shared secret of table "
			"turn_secret is empty, too long, or one too many (with "
			"'static-auth-secret', at most %d)\n", TURN_MAX_SECRETS);
		return EINVAL;
	}
	snprintf(t->secrets[t->nsecrets++], sizeof(t->secrets[0]), "%s", value);
	l->nsecrets++;
	return 0;
}

static int userdb_row(void *arg, enum store_coturn_kind kind, const char *value,
		      const char *key)
{
	struct userdb_load *l = arg;
	switch (kind) {
	case STORE_COTURN_USER:
		return userdb_user(l, value, key);
	case STORE_COTURN_SECRET:
		return userdb_secret(l, value);
	case STORE_COTURN_ALLOWED:
	case STORE_COTURN_DENIED:
		break;
	}
	bool allow = kind == STORE_COTURN_ALLOWED;
	if (peer_policy_add(l->p, value, allow) != 0) {
		fprintf(l->err, "turnstone: 'userdb': invalid address or range "
			"'%s' in table %s\n", value,
			allow ? "allowed_peer_ip" : "denied_peer_ip");
		return EINVAL;
	}
	l->nranges++;
	return 0;
}

int server_userdb_load(const struct config *c, struct turn_cfg *t,
		       struct turn_users *users, struct peer_policy *p, FILE *err)
{
	struct userdb_load l = {.t = t, .p = p, .err = err};
	char why[256];
	int rc = store_coturn_read(c->userdb, t->realm, userdb_row, &l, why,
				   sizeof(why));
	if (rc && why[0])
		fprintf(err, "turnstone: 'userdb': cannot read '%s': %s\n",
			c->userdb, why);
	if (!rc) {
		rc = turn_users_build(users, l.u, l.n);
		l.u = NULL; /* taken, or freed on error */
		if (rc == EEXIST) /* (realm, name) is coturn's key: cannot be */
			fprintf(err, "turnstone: 'userdb': a user name occurs "
				"twice\n");
	}
	if (l.u) {
		explicit_bzero(l.u, l.cap * sizeof(*l.u));
		free(l.u);
	}
	if (!rc)
		log_info("userdb %s: %u users, %u shared secrets and %u peer "
			 "ranges of realm '%s'", c->userdb, l.n, l.nsecrets,
			 l.nranges, t->realm);
	/* The usual slip when moving from coturn: another realm there. */
	if (!rc && l.n == 0 && l.nsecrets == 0)
		log_warn("userdb %s holds no user and no shared secret of realm "
			 "'%s' (turnadmin -r names the realm; rows of other realms "
			 "are not read)", c->userdb, t->realm);
	return rc;
}
