/* Sender addresses in canonical form for the guard's comparisons and the
   acknowledgment limits: what forwarders (SRS), bounce-address tagging
   (BATV, Barracuda) and subaddresses (+detail) add to a sender is undone,
   so one person is one address. */

#include "lib.h"
#include "frontdesk-compat.h"
#include "strfuncs.h"
#include "frontdesk-guard.h"

/* SRS (libsrs2, postsrsd): the separator after "SRS0"/"SRS1" may be '=',
   '+' or '-'; the other separators are '='.
     SRS0<s>HHH=TT=orig-domain=orig-local@forwarder
     SRS1<s>HHH=first-forwarder=<s0>HHH=TT=orig-domain=orig-local@forwarder
   where <s0> is the separator the first forwarder's SRS0 used. */
static bool srs_sep(char c)
{
	return c == '=' || c == '+' || c == '-';
}

static bool address_is_srs(const char *local)
{
	return (str_begins_with(local, "srs0") || str_begins_with(local, "srs1")) &&
		srs_sep(local[4]);
}

static bool address_undo_srs(const char **local, const char **domain)
{
	const char *l = *local, *p;
	const char *const *parts;

	if (str_begins_with(l, "srs1") && srs_sep(l[4])) {
		/* skip the hash, then the first forwarder */
		if ((p = strchr(l + 5, '=')) == NULL ||
		    (p = strchr(p + 1, '=')) == NULL || !srs_sep(p[1]))
			return FALSE;
		l = t_strconcat("srs0", p + 1, NULL);
	}
	if (!str_begins_with(l, "srs0") || !srs_sep(l[4]))
		return FALSE;
	/* hash, timestamp, domain, local (which may hold '=') */
	parts = t_strsplit(l + 5, "=");
	if (str_array_length(parts) < 4 || *parts[2] == '\0' ||
	    *parts[3] == '\0')
		return FALSE;
	*domain = parts[2];
	*local = t_strarray_join(parts + 3, "=");
	return TRUE;
}

/* BATV (prvs=TAG=local, the older prvs=local/TAG, msprvs1=TAG=local) and
   Barracuda's btv1==TAG==local. */
static bool address_undo_batv(const char **local)
{
	const char *l = *local, *p;

	if (str_begins_with(l, "btv1==")) {
		p = strstr(l + 6, "==");
		if (p == NULL || p == l + 6 || p[2] == '\0')
			return FALSE;
		*local = p + 2;
		return TRUE;
	}
	if (str_begins_with(l, "prvs="))
		l += 5;
	else if (str_begins_with(l, "msprvs1="))
		l += 8;
	else
		return FALSE;
	if ((p = strchr(l, '=')) != NULL && p != l && p[1] != '\0') {
		*local = p + 1;
		return TRUE;
	}
	if ((p = strchr(l, '/')) != NULL && p != l) {
		*local = t_strdup_until(l, p);
		return TRUE;
	}
	return FALSE;
}

const char *frontdesk_address_canonical(const char *address)
{
	const char *addr = t_str_lcase(address), *at, *local, *domain, *p;
	unsigned int i;

	at = strrchr(addr, '@');
	if (at == NULL)
		return addr;
	local = t_strdup_until(addr, at);
	domain = at + 1;

	/* a forwarder may sign what another one rewrote: undo the layers
	   (a few; more is not a real address) */
	for (i = 0; i < 4; i++) {
		if (!address_undo_srs(&local, &domain) &&
		    !address_undo_batv(&local))
			break;
	}
	/* +detail; not in an SRS address we could not undo, whose '+'
	   is a separator: all its senders would share one address */
	p = strchr(local, '+');
	if (p != NULL && p != local && !address_is_srs(local))
		local = t_strdup_until(local, p);
	return t_strconcat(local, "@", domain, NULL);
}
