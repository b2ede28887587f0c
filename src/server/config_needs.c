/* Options that do nothing without another: given alone, they would be
 * a silent no-op (an API limit on a daemon with no API, a cipher list
 * with TLS off), so the start fails naming both instead. "Given" means
 * set to other than its default; a list, non-empty. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/config_int.h"

struct cfg_need {
	const char *opt, *needs, *why;
};

static const struct cfg_need cfg_needs[] = {
	{"cipher-list", "cert", "TLS and DTLS are off without a certificate"},
	{"no-tlsv1_2", "cert", "TLS and DTLS are off without a certificate"},
	/* Nothing listens there without one (tlscfg.c server_listen_tls). */
	{"tls-listening-port", "cert", "TLS and DTLS are off without a certificate"},
	{"revoked-interval", "revoked-from", "nothing is polled without it"},
};

static bool cfg_given(const struct config *c, const struct config *d,
		      const struct cfg_opt *o)
{
	const char *a = (const char *)c, *b = (const char *)d;
	if (o->cap)
		return memcmp(a + o->noff, b + o->noff, sizeof(unsigned)) != 0;
	return o->size && memcmp(a + o->off, b + o->off, o->size) != 0;
}

static int cfg_need(const struct config *c, const struct config *d,
		    const char *opt, const char *needs, const char *why,
		    FILE *err)
{
	const struct cfg_opt *o = config_opt_find(opt);
	const struct cfg_opt *n = config_opt_find(needs);
	if (!o || !n || !cfg_given(c, d, o) || cfg_given(c, d, n))
		return 0;
	if (err)
		fprintf(err, "turnstone: '%s' needs '%s' (%s)\n", opt, needs, why);
	return EINVAL;
}

int config_check_needs(const struct config *c, FILE *err)
{
	struct config *d = malloc(sizeof(*d));
	if (!d)
		return ENOMEM;
	config_defaults(d);
	int r = 0;
	for (size_t i = 0; i < sizeof(cfg_needs) / sizeof(cfg_needs[0]); i++)
		r |= cfg_need(c, d, cfg_needs[i].opt, cfg_needs[i].needs,
			      cfg_needs[i].why, err);
	/* Every api-* option configures the ICE-servers API. */
	const struct cfg_opt *o;
	for (size_t i = 0; (o = config_opt_at(i)) != NULL; i++) {
		if (o->name && strncmp(o->name, "api-", 4) == 0 &&
		    strcmp(o->name, "api-listening-port") != 0)
			r |= cfg_need(c, d, o->name, "api-listening-port",
				      "without it there is no API", err);
	}
	free(d);
	return r ? EINVAL : 0;
}
