/* Which CRLs a snapshot answers from, and the index of revoked serials they make. Each
 * partition CRL is checked with lib/crl_check's rules, (e) and (f) against the high-water mark
 * of its key for the partition's DN (crl_mark: carried from snapshot to snapshot, so that a
 * build without that CRL, or without the partition, forgets nothing); one that the previous
 * snapshot accepted unchanged (same SHA-256, same CA keys and policy) is taken over, only its
 * times checked again and its entries copied from the previous index; one it refused is refused
 * again unchecked for a while, the partition's marks unchanged (not one refused by a time rule
 * at that moment); when a key's new CRL is refused, its last good one is kept (until its own
 * nextUpdate). Also the DER those CRLs are held in (crl_der), shared by the model, the
 * snapshots and the state copy. Apart from the rest of the build because this is where the
 * repository's rules meet a snapshot's history: carry, take_over, check_crl and keep make one
 * invariant and read together. */
#include "snapshot_build.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "ocspd.h"
#include "utctime.h"

crl_der *crl_der_new(unsigned char *der, size_t len)
{
	crl_der *d = malloc(sizeof(*d));

	if (d == NULL || !EVP_Digest(der, len, d->sha256, NULL, jpki_sha256(), NULL)) {
		free(d);
		return NULL;
	}
	atomic_init(&d->refs, 1);
	d->der = der;
	d->len = len;
	return d;
}

crl_der *crl_der_ref(crl_der *d)
{
	if (d != NULL)
		atomic_fetch_add(&d->refs, 1);
	return d;
}

void crl_der_unref(crl_der *d)
{
	if (d == NULL || atomic_fetch_sub(&d->refs, 1) != 1)
		return;
	free(d->der);
	free(d);
}

int snapshot_cmp_serial(const void *a, const void *b)
{
	const revoked *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->serial, y->serial, x->len);
}

/* The index's order: by serial (what a lookup searches), then by the rest, so that one serial
 * in two partitions comes out in one order however the index was made. */
static int cmp_entry(const void *a, const void *b)
{
	const revoked *x = a, *y = b;
	int c = snapshot_cmp_serial(a, b);

	if (c != 0)
		return c;
	if (x->partition != y->partition)
		return x->partition < y->partition ? -1 : 1;
	if (x->revoked_at != y->revoked_at)
		return x->revoked_at < y->revoked_at ? -1 : 1;
	return (x->reason > y->reason) - (x->reason < y->reason);
}

/* Appends the CRL's entries to k (partition index p). */
static int index_crl(served_key *k, size_t *cap, X509_CRL *crl, uint16_t p)
{
	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);
	int i, n = revs != NULL ? sk_X509_REVOKED_num(revs) : 0;

	for (i = 0; i < n; i++) {
		X509_REVOKED *r = sk_X509_REVOKED_value(revs, i);
		const ASN1_INTEGER *serial = X509_REVOKED_get0_serialNumber(r);
		ASN1_ENUMERATED *reason = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
		revoked *e;
		time_t when = 0;

		if ((serial->type & V_ASN1_NEG) || serial->length <= 0 || serial->length > 20 ||
		    (serial->length == 1 && serial->data[0] == 0)) {
			/* Rule (a) refuses such a CRL; skipping the entry would answer "good" for it. */
			ASN1_ENUMERATED_free(reason);
			return -1;
		}
		if (k->nentries == *cap) {
			revoked *grown;

			*cap = *cap ? *cap * 2 : 1024;
			grown = realloc(k->entries, *cap * sizeof(*grown));
			if (grown == NULL) {
				ASN1_ENUMERATED_free(reason);
				return -1;
			}
			k->entries = grown;
		}
		e = &k->entries[k->nentries++];
		memset(e, 0, sizeof(*e));
		jpki_asn1_time_to_time(X509_REVOKED_get0_revocationDate(r), &when);
		e->revoked_at = when;
		e->len = (uint8_t)serial->length;
		memcpy(e->serial, serial->data, (size_t)serial->length);
		e->reason = (uint8_t)(reason != NULL ? ASN1_ENUMERATED_get(reason) : 0);
		e->partition = p;
		ASN1_ENUMERATED_free(reason);
	}
	return 0;
}

/* Is prev's checking of a CRL still what this build's would be? Every rule but the time ones
 * depends only on the CRL, its partition's DN, the CA keys (and name) and the policy: rules
 * (e) and (f) do not compare a CRL prev accepted with itself. */
static bool same_rules(const snapshot *prev, const snapshot *s, const jpki_crl_policy *pol)
{
	const X509_NAME *a = jpki_trust_ca_name(prev->trust), *b = jpki_trust_ca_name(s->trust);
	size_t i;

	if (prev->nkeys != s->nkeys || !jpki_crl_policy_equal(&prev->policy, pol) ||
	    (a == NULL) != (b == NULL) || (a != NULL && X509_NAME_cmp(a, b) != 0))
		return false;
	for (i = 0; i < s->nkeys; i++)
		if (X509_cmp(prev->keys[i].key->cert, s->keys[i].key->cert) != 0 ||
		    memcmp(prev->keys[i].key->id, s->keys[i].key->id, sizeof(s->keys[i].key->id)) != 0)
			return false;
	return true;
}

/* What the build has of prev: its record of the CRLs it accepted (the history) and, with the
 * same rules, its checks and index: per key and prev partition, the number its entries get
 * here (TAKE_FREE: not taken; TAKE_NONE: its CRL is decided, without entries). */
#define REFUSAL_RECHECK 600	/* s: a refusal taken from the previous snapshot is this recent */
#define TAKE_FREE (-1)
#define TAKE_NONE (-2)
typedef struct carry {
	const model *m;
	const snapshot *prev;	/* NULL: no history */
	bool reuse;		/* prev's checks and index are taken over where unchanged */
	long *old_of;		/* per partition: prev's number for the same DN, or -1 */
	long *prev_key;		/* per key: prev's number for the same key, or -1 */
	int32_t **take;		/* [key][prev partition], with reuse */
	jpki_crl_meta *stored;	/* room for one partition's records, one per key */
} carry;

static void carry_free(carry *cy, size_t nkeys)
{
	size_t k;

	for (k = 0; cy->take != NULL && k < nkeys; k++)
		free(cy->take[k]);
	free(cy->take);
	free(cy->old_of);
	free(cy->prev_key);
	free(cy->stored);
}

static int carry_init(carry *cy, const snapshot *prev, bool reuse, const snapshot *s, const model *m)
{
	unsigned char *claimed;
	size_t p, q, k;

	cy->m = m;
	if ((cy->stored = calloc(s->nkeys + 1, sizeof(*cy->stored))) == NULL)
		return -1;
	if (prev == NULL)
		return 0;
	cy->prev = prev;
	claimed = calloc(prev->nparts + 1, 1);
	cy->old_of = calloc(m->nparts + 1, sizeof(*cy->old_of));
	cy->prev_key = calloc(s->nkeys + 1, sizeof(*cy->prev_key));
	if (claimed == NULL || cy->old_of == NULL || cy->prev_key == NULL) {
		free(claimed);
		return -1;
	}
	for (p = 0; p < m->nparts; p++) {
		cy->old_of[p] = -1;
		for (q = 0; q < prev->nparts && cy->old_of[p] < 0; q++)
			if (!claimed[q] && strcmp(prev->part_dns[q], m->parts[p].dn) == 0)
				claimed[q] = 1, cy->old_of[p] = (long)q;
	}
	free(claimed);
	for (k = 0; k < s->nkeys; k++) {
		cy->prev_key[k] = -1;
		for (q = 0; q < prev->nkeys && cy->prev_key[k] < 0; q++)
			if (memcmp(prev->keys[q].key->id, s->keys[k].key->id, sizeof(s->keys[k].key->id)) == 0)
				cy->prev_key[k] = (long)q;
	}
	if (!reuse)
		return 0;
	cy->reuse = true;
	if ((cy->take = calloc(s->nkeys + 1, sizeof(*cy->take))) == NULL)
		return -1;
	for (k = 0; k < s->nkeys; k++) {
		if ((cy->take[k] = malloc((prev->nparts + 1) * sizeof(**cy->take))) == NULL)
			return -1;
		for (q = 0; q < prev->nparts; q++)
			cy->take[k][q] = TAKE_FREE;
	}
	return 0;
}

/* What prev accepted of key k for partition p's DN, or NULL. */
static const crl_source *record_of(const carry *cy, size_t k, size_t p)
{
	long q = cy->prev != NULL ? cy->old_of[p] : -1, j = q >= 0 ? cy->prev_key[k] : -1;

	return j >= 0 && cy->prev->keys[j].sources[q].nders > 0 ? &cy->prev->keys[j].sources[q] : NULL;
}

static int cmp_mark(const void *a, const void *b)
{
	const crl_mark *x = a, *y = b;
	int c = strcmp(x->dn, y->dn);

	return c != 0 ? c : memcmp(x->key_id, y->key_id, sizeof(x->key_id));
}

void crl_marks_free(crl_mark *marks, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(marks[i].dn);
		ASN1_INTEGER_free(marks[i].number);
	}
	free(marks);
}

/* Appends a mark to s's (room made by marks_init). */
static int mark_push(snapshot *s, const char *dn, const unsigned char *key_id, const ASN1_INTEGER *number, time_t tu,
	const unsigned char sha256[32])
{
	crl_mark *mk = &s->marks[s->nmarks];

	mk->dn = strdup(dn);
	mk->number = ASN1_INTEGER_dup(number);
	if (mk->dn == NULL || mk->number == NULL) {
		free(mk->dn);
		ASN1_INTEGER_free(mk->number);
		return -1;
	}
	memcpy(mk->key_id, key_id, sizeof(mk->key_id));
	mk->this_update = tu;
	memcpy(mk->sha256, sha256, sizeof(mk->sha256));
	s->nmarks++;
	return 0;
}

/* s's marks sorted, one per (dn, key): the greatest number (with its CRL's hash; a tie to the
 * lower hash, so that the result does not depend on the order) and the latest thisUpdate. */
static void marks_fold(snapshot *s)
{
	crl_mark *a = s->marks;
	size_t i, o;

	if (s->nmarks > 0)
		qsort(a, s->nmarks, sizeof(*a), cmp_mark);
	for (i = o = 0; i < s->nmarks; i++) {
		crl_mark *keep = &a[o > 0 ? o - 1 : 0], *x = &a[i];
		int c;

		if (o == 0 || cmp_mark(keep, x) != 0) {
			a[o++] = *x;
			continue;
		}
		c = ASN1_INTEGER_cmp(x->number, keep->number);
		if (c > 0 || (c == 0 && memcmp(x->sha256, keep->sha256, sizeof(x->sha256)) < 0)) {
			ASN1_INTEGER *t = keep->number;

			keep->number = x->number;
			x->number = t;
			memcpy(keep->sha256, x->sha256, sizeof(keep->sha256));
		}
		if (x->this_update > keep->this_update)
			keep->this_update = x->this_update;
		free(x->dn);
		ASN1_INTEGER_free(x->number);
	}
	s->nmarks = o;
}

/* The history this build checks with: prev's marks and the model's (the state copy's), with
 * room for what the build raises. */
static int marks_init(snapshot *s, const snapshot *prev, const model *m)
{
	const crl_mark *from[2] = { m->marks, prev != NULL ? prev->marks : NULL };
	size_t n[2] = { m->nmarks, prev != NULL ? prev->nmarks : 0 }, i, j;

	s->marks = calloc(n[0] + n[1] + s->nkeys * m->nparts + 1, sizeof(*s->marks));
	if (s->marks == NULL)
		return -1;
	for (i = 0; i < 2; i++)
		for (j = 0; j < n[i]; j++)
			if (mark_push(s, from[i][j].dn, from[i][j].key_id, from[i][j].number, from[i][j].this_update,
				    from[i][j].sha256) < 0)
				return -1;
	marks_fold(s);
	return 0;
}

/* After the build: every CRL it accepted raises its key's mark for the partition's DN — but
 * not one dated in the future (beyond the clock skew): a CA clock set wrong once must not
 * make every later CRL, dated right, look like a rollback. */
static int marks_raise(snapshot *s, const model *m)
{
	size_t k, p;

	for (k = 0; k < s->nkeys; k++)
		for (p = 0; p < s->keys[k].nparts; p++) {
			const crl_source *src = &s->keys[k].sources[p];

			if (src->state == CRL_SOURCE_NONE || src->this_update > s->built_at + s->policy.clock_skew)
				continue;
			if (mark_push(s, m->parts[p].ndn, s->keys[k].key->id, src->number, src->this_update, src->sha256) < 0)
				return -1;
		}
	marks_fold(s);
	return 0;
}

/* The mark of key k for partition p's DN, or NULL. */
static const crl_mark *mark_of(const snapshot *s, const carry *cy, size_t k, size_t p)
{
	crl_mark key;

	key.dn = cy->m->parts[p].ndn;
	memcpy(key.key_id, s->keys[k].key->id, sizeof(key.key_id));
	return s->nmarks > 0 ? bsearch(&key, s->marks, s->nmarks, sizeof(*s->marks), cmp_mark) : NULL;
}

static bool holds(const crl_source *src, const unsigned char sha256[32])
{
	size_t i;

	for (i = 0; i < src->nders; i++)
		if (memcmp(src->ders[i]->sha256, sha256, 32) == 0)
			return true;
	return false;
}

/* The rules that depend on now (g, f), from lib/crl_check, on the times a CRL taken over was
 * accepted with: its verdict today, all the other rules having passed. 1: refused (v
 * filled), 0: passes. */
static int time_rules(time_t tu, time_t nu, time_t now, const jpki_crl_policy *pol, jpki_verdict *v)
{
	return jpki_check_validity_at(tu, nu, now, pol, v) < 0 || jpki_check_this_update_at(tu, NULL, now, pol, v) < 0;
}

/* A CRL to decide: one of the model's, or one prev accepted, looked at again. */
typedef struct cand {
	const unsigned char *der;
	size_t len;
	unsigned char sha256[32];
	crl_der *ref;		/* NULL: not shared (copied if accepted) */
	size_t nth;		/* among the partition's values, from 1; 0: prev's */
} cand;

/* A refused CRL, logged once its partition is decided, with what is used in its place; c is
 * what the next build may take of it (crl_refusal, c.part set when it is kept). */
typedef struct refusal {
	crl_refusal c;
	size_t nth;
	bool timed;		/* refused by a time rule at this build's now: never taken again */
} refusal;

static void refused(const snapshot *s, size_t p, size_t nth, const jpki_verdict *v, const char *instead)
{
	if (nth > 0)
		ocspd_log(OCSPD_LOG_WARNING, "CRL %zu of %s not used: %s%s", nth, s->part_dns[p], v->text, instead);
	else
		ocspd_log(OCSPD_LOG_WARNING, "the previous CRL of %s not used: %s%s", s->part_dns[p], v->text, instead);
}

/* A CRL accepted for partition p (LAPSED: not current), what the next build needs to know of
 * it. */
static int note_source(served_key *k, size_t p, crl_der *der, const ASN1_INTEGER *number, time_t tu, time_t nu,
	crl_source_state state)
{
	crl_source *src = &k->sources[p];
	crl_der **grown = realloc(src->ders, (src->nders + 1) * sizeof(*grown));

	if (grown == NULL)
		return -1;
	src->ders = grown;
	grown[src->nders++] = crl_der_ref(der);
	if (src->state != CRL_SOURCE_NONE) {
		/* rules (e) and (f) then compare with the greatest number and latest time */
		src->state = CRL_SOURCE_MIXED;
		if (tu > src->this_update)
			src->this_update = tu;
		if (ASN1_INTEGER_cmp(number, src->number) <= 0)
			return 0;
		ASN1_INTEGER_free(src->number);
		memcpy(src->sha256, der->sha256, sizeof(src->sha256));	/* its mark's CRL */
	} else {
		memcpy(src->sha256, der->sha256, sizeof(src->sha256));
		src->this_update = tu;
		src->next_update = nu;
		src->state = state;
	}
	src->number = ASN1_INTEGER_dup(number);
	return src->number != NULL ? 0 : -1;
}

/* cd decided from what prev recorded of it: 1 (taken over, or refused by the time rules as a
 * check would refuse it now), 0 (to be checked), -1 (out of memory). */
static int take_over(snapshot *s, carry *cy, size_t p, const cand *cd, const jpki_crl_policy *pol, time_t now)
{
	long q = cy->old_of[p];
	size_t k;
	jpki_verdict v;

	for (k = 0; q >= 0 && k < s->nkeys; k++) {
		const crl_source *src = &cy->prev->keys[k].sources[q];
		int t;

		if (cy->take[k][q] != TAKE_FREE || memcmp(src->sha256, cd->sha256, sizeof(src->sha256)) != 0 ||
		    (src->state != CRL_SOURCE_INDEXED && src->state != CRL_SOURCE_LAPSED))
			continue;
		t = time_rules(src->this_update, src->next_update, now, pol, &v);
		if (t == 0 && src->state == CRL_SOURCE_LAPSED)
			return 0;	/* current again (the clock went back): its entries are needed */
		s->crls_reused++;
		if (t == 1) {
			refused(s, p, cd->nth, &v, "");
			cy->take[k][q] = TAKE_NONE;
			return note_source(&s->keys[k], p, cd->ref, src->number, src->this_update, src->next_update,
				       CRL_SOURCE_LAPSED) < 0 ? -1 : 1;
		}
		cy->take[k][q] = (int32_t)p;
		s->keys[k].parts[p].this_update = src->this_update;
		s->keys[k].parts[p].next_update = src->next_update;
		return note_source(&s->keys[k], p, cd->ref, src->number, src->this_update, src->next_update,
			       CRL_SOURCE_INDEXED) < 0 ? -1 : 1;
	}
	return 0;
}

static int der_this_update(const unsigned char *der, size_t len, time_t *tu)
{
	const unsigned char *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
	int rc = crl != NULL ? jpki_asn1_time_to_time(X509_CRL_get0_lastUpdate(crl), tu) : -1;

	X509_CRL_free(crl);
	ERR_clear_error();
	return rc;
}

/* The key a refused CRL was meant for: the one its signature verifies with, else the one its
 * authorityKeyIdentifier names (a bad signature); -1: none this snapshot trusts. */
static long meant_for(const snapshot *s, const cand *cd)
{
	const unsigned char *p = cd->der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)cd->len);
	const jpki_ca_key *key = NULL;
	AUTHORITY_KEYID *akid;
	long k = -1;
	size_t i;

	if (crl != NULL && (key = jpki_trust_crl_signer(s->trust, crl)) == NULL &&
	    (akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL)) != NULL) {
		if (akid->keyid != NULL)
			key = jpki_trust_find_id(s->trust, akid->keyid->data, (size_t)akid->keyid->length);
		AUTHORITY_KEYID_free(akid);
	}
	for (i = 0; key != NULL && i < s->nkeys && k < 0; i++)
		if (memcmp(s->keys[i].key->id, key->id, sizeof(key->id)) == 0)
			k = (long)i;
	X509_CRL_free(crl);
	ERR_clear_error();
	return k;
}

/* cd checked with the repository's rules, (e) and (f) against the marks of the partition's
 * DN (but not a CRL prev accepted there, nor the one that set the mark: a CRL is not its own
 * successor), and, if it passes, indexed.
 * One that passes every rule but the time ones (checked again at its own thisUpdate: expired,
 * or from the future) is accepted without its entries: as the newer CRL it replaces the
 * previous one, and answers wait for a current one (tryLater).
 * 1: accepted, 0: refused (*r filled), -1: out of memory. */
static int check_crl(snapshot *s, carry *cy, size_t p, const cand *cd, const jpki_crl_policy *pol, time_t now,
	size_t *caps, refusal *r)
{
	crl_source_state state = CRL_SOURCE_INDEXED;
	size_t k, nstored = 0;
	crl_der *ref = cd->ref;
	jpki_crl_meta meta = { 0 };
	jpki_verdict v, again;
	X509_CRL *crl = NULL;
	time_t tu;
	int rc = 1;

	for (k = 0; k < s->nkeys; k++) {
		const crl_source *src = record_of(cy, k, p);
		const crl_mark *mk = mark_of(s, cy, k, p);
		jpki_crl_meta *st = &cy->stored[nstored];

		/* prev's records are under the marks (marks_raise): the marks alone are compared */
		if (mk == NULL || (src != NULL && holds(src, cd->sha256)) ||
		    memcmp(mk->sha256, cd->sha256, sizeof(mk->sha256)) == 0)
			continue;
		memcpy(st->key_id, mk->key_id, sizeof(st->key_id));
		st->number = mk->number;
		st->this_update = mk->this_update;
		st->next_update = 0;	/* not compared */
		nstored++;
	}
	s->crls_checked++;
	if (jpki_crl_check(cd->der, cd->len, s->part_dns[p], JPKI_CRL_PARTITION, s->trust, cy->stored, nstored, now,
		    pol, &meta, &crl, &v) < 0) {
		again.rule = JPKI_RULE_NONE;
		if ((v.rule != JPKI_RULE_VALIDITY && v.rule != JPKI_RULE_THIS_UPDATE) ||
		    der_this_update(cd->der, cd->len, &tu) < 0 ||
		    jpki_crl_check(cd->der, cd->len, s->part_dns[p], JPKI_CRL_PARTITION, s->trust, cy->stored,
			    nstored, tu, pol, &meta, NULL, &again) < 0) {
			r->nth = cd->nth;
			memcpy(r->c.sha256, cd->sha256, sizeof(r->c.sha256));
			r->c.key = meant_for(s, cd);
			/* the rule that is not a time's; a time's only when its thisUpdate cannot be read */
			r->c.v = again.rule != JPKI_RULE_NONE ? again : v;
			r->timed = again.rule == JPKI_RULE_NONE &&
				(v.rule == JPKI_RULE_VALIDITY || v.rule == JPKI_RULE_THIS_UPDATE);
			return 0;
		}
		refused(s, p, cd->nth, &v, "");
		state = CRL_SOURCE_LAPSED;
	}
	if (ref == NULL) {	/* not shared by the model: the snapshot keeps a copy */
		unsigned char *copy = malloc(cd->len + 1);

		if (copy != NULL)
			memcpy(copy, cd->der, cd->len);
		if (copy == NULL || (ref = crl_der_new(copy, cd->len)) == NULL) {
			free(copy);
			rc = -1;
		}
	}
	for (k = 0; k < s->nkeys && rc == 1; k++) {
		if (memcmp(s->keys[k].key->id, meta.key_id, sizeof(meta.key_id)) != 0)
			continue;
		if (note_source(&s->keys[k], p, ref, meta.number, meta.this_update, meta.next_update, state) < 0)
			rc = -1;
		else if (state == CRL_SOURCE_INDEXED) {
			s->keys[k].parts[p].this_update = meta.this_update;
			s->keys[k].parts[p].next_update = meta.next_update;
			if (index_crl(&s->keys[k], &caps[k], crl, (uint16_t)p) < 0)
				rc = -1;
		}
	}
	if (ref != cd->ref)
		crl_der_unref(ref);
	X509_CRL_free(crl);
	jpki_crl_meta_clear(&meta);
	return rc;
}

/* A digest of partition p's marks, one per key (absent ones too): what rules (e) and (f)
 * compare a CRL with. */
static int marks_digest(const snapshot *s, const carry *cy, size_t p, unsigned char out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	static const unsigned char none = 0, some = 1;
	size_t k;
	int ok = md != NULL && EVP_DigestInit_ex(md, jpki_sha256(), NULL);

	for (k = 0; ok && k < s->nkeys; k++) {
		const crl_mark *mk = mark_of(s, cy, k, p);

		ok = mk == NULL ? EVP_DigestUpdate(md, &none, 1) :
			EVP_DigestUpdate(md, &some, 1) && EVP_DigestUpdate(md, mk->sha256, sizeof(mk->sha256)) &&
			EVP_DigestUpdate(md, &mk->this_update, sizeof(mk->this_update)) &&
			EVP_DigestUpdate(md, mk->number->data, (size_t)mk->number->length);
	}
	ok = ok && EVP_DigestFinal_ex(md, out, NULL);
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

/* cd is refused as prev refused it for the partition's DN, without checking it again, when
 * prev was built with the same rules (cy->reuse: the same CA keys in the same order), the
 * partition's marks are those it was checked against, and that check is recent. */
static bool refused_before(snapshot *s, const carry *cy, size_t p, const cand *cd, time_t now, refusal *r)
{
	long q = cy->old_of[p];
	unsigned char marks[32];
	size_t i;

	for (i = 0; q >= 0 && i < cy->prev->nrefusals; i++) {
		const crl_refusal *was = &cy->prev->refusals[i];

		if (was->part != (size_t)q || memcmp(was->sha256, cd->sha256, sizeof(cd->sha256)) != 0)
			continue;
		if (now < was->checked_at || now - was->checked_at >= REFUSAL_RECHECK ||
		    marks_digest(s, cy, p, marks) < 0 || memcmp(marks, was->marks, sizeof(marks)) != 0)
			return false;
		r->c = *was;
		r->nth = cd->nth;
		r->timed = false;
		s->crls_refused_again++;
		return true;
	}
	return false;
}

/* Partition p's refusals, for the next build; not one by a time rule at now (a CRL whose
 * times cannot be read might be current at another time). */
static int remember_refusals(snapshot *s, size_t p, const refusal *rf, size_t nrf)
{
	crl_refusal *grown;
	size_t i;

	if (nrf == 0)
		return 0;
	if ((grown = realloc(s->refusals, (s->nrefusals + nrf) * sizeof(*grown))) == NULL)
		return -1;
	s->refusals = grown;
	for (i = 0; i < nrf; i++) {
		if (rf[i].timed)
			continue;
		s->refusals[s->nrefusals] = rf[i].c;
		s->refusals[s->nrefusals++].part = p;
	}
	return 0;
}

static bool refused_as_is(const refusal *rf, size_t nrf, const unsigned char sha256[32])
{
	size_t i;

	for (i = 0; i < nrf; i++)
		if (memcmp(rf[i].c.sha256, sha256, 32) == 0)
			return true;
	return false;
}

/* Keys left without an accepted CRL of partition p because one was refused (naming them, or
 * naming no trusted key): what prev accepted of them is used again, taken over or checked as
 * the others are (so it lapses at its nextUpdate). A key whose CRL was removed with nothing
 * refused keeps nothing: removing is the publisher's to do, through the overlay. */
static int keep(snapshot *s, carry *cy, size_t p, const refusal *rf, size_t nrf, const jpki_crl_policy *pol,
	time_t now, size_t *caps)
{
	size_t k, i, d;

	for (k = 0; k < s->nkeys; k++) {
		const crl_source *src = record_of(cy, k, p);
		crl_source *now_src = &s->keys[k].sources[p];
		bool meant = false;

		if (src == NULL || now_src->state != CRL_SOURCE_NONE)
			continue;
		for (i = 0; i < nrf && !meant; i++)
			meant = rf[i].c.key < 0 || rf[i].c.key == (long)k;
		for (d = 0; meant && d < src->nders; d++) {
			cand cd = { src->ders[d]->der, src->ders[d]->len, { 0 }, src->ders[d], 0 };
			refusal again;
			int rc = 0;

			memcpy(cd.sha256, src->ders[d]->sha256, sizeof(cd.sha256));
			if (refused_as_is(rf, nrf, cd.sha256))
				continue;	/* the same check would refuse it again */
			s->crls_kept++;
			if (cy->reuse)
				rc = take_over(s, cy, p, &cd, pol, now);
			if (rc == 0)
				rc = check_crl(s, cy, p, &cd, pol, now, caps, &again);
			if (rc < 0)
				return -1;
			if (rc == 0)
				refused(s, p, 0, &again.c.v, "");
		}
		now_src->kept = now_src->state != CRL_SOURCE_NONE;
	}
	return 0;
}

/* Each refusal of partition p, once, with what is used in its place. */
static void log_refusals(const snapshot *s, size_t p, const refusal *rf, size_t nrf)
{
	char instead[1024], *number, id[9], until[JPKI_UTC_ISO_LEN + 1];
	size_t i, k, n;

	for (i = 0; i < nrf; i++) {
		instead[0] = '\0';
		for (k = n = 0; k < s->nkeys && n < sizeof(instead); k++) {
			const crl_source *src = &s->keys[k].sources[p];

			if (!src->kept || (rf[i].c.key >= 0 && rf[i].c.key != (long)k))
				continue;
			number = jpki_integer_dec(src->number);
			snprintf(id, sizeof(id), "%02X%02X%02X%02X", s->keys[k].key->id[0], s->keys[k].key->id[1],
				s->keys[k].key->id[2], s->keys[k].key->id[3]);
			jpki_utc_iso(src->next_update, until);
			n += (size_t)snprintf(instead + n, sizeof(instead) - n,
				"; the previous cRLNumber %s of CA key %s… is still used (nextUpdate %s%s)",
				number != NULL ? number : "?", id, until,
				src->state == CRL_SOURCE_LAPSED ? ", not current" : "");
			OPENSSL_free(number);
		}
		refused(s, p, rf[i].nth, &rf[i].c.v, instead);
	}
}

/* Partition p's CRLs, then what is kept in place of the refused ones. */
static int build_partition(snapshot *s, carry *cy, const model *m, size_t p, const jpki_crl_policy *pol,
	time_t now, size_t *caps)
{
	const model_partition *mp = &m->parts[p];
	refusal *rf = calloc(mp->ncrls + 1, sizeof(*rf));
	size_t c, nrf = 0;
	int rc = -1;

	if (rf == NULL)
		return -1;
	for (c = 0; c < mp->ncrls; c++) {
		cand cd = { mp->crls[c].der, mp->crls[c].len, { 0 }, c < mp->nhashed ? mp->crls[c].ref : NULL, c + 1 };
		int r = 0;

		if (cd.ref != NULL)
			memcpy(cd.sha256, cd.ref->sha256, sizeof(cd.sha256));
		else if (!EVP_Digest(cd.der, cd.len, cd.sha256, NULL, jpki_sha256(), NULL))
			goto out;
		if (cy->reuse && cd.ref != NULL)
			r = take_over(s, cy, p, &cd, pol, now);
		if (r == 0 && !(cy->reuse && refused_before(s, cy, p, &cd, now, &rf[nrf]))) {
			r = check_crl(s, cy, p, &cd, pol, now, caps, &rf[nrf]);
			rf[nrf].c.checked_at = now;
			if (r == 0 && marks_digest(s, cy, p, rf[nrf].c.marks) < 0)
				rf[nrf].timed = true;	/* not to be taken again */
		}
		if (r < 0)
			goto out;
		nrf += r == 0;
	}
	if (keep(s, cy, p, rf, nrf, pol, now, caps) < 0 || remember_refusals(s, p, rf, nrf) < 0)
		goto out;
	log_refusals(s, p, rf, nrf);
	rc = 0;
out:
	free(rf);
	return rc;
}

/* The entries with one serial in two partitions come out of renumbering in another order:
 * put back (an insertion pass, linear when such serials are few, as they are). */
static void fix_ties(revoked *e, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		revoked x = e[i];

		for (j = i; j > 0 && cmp_entry(&e[j - 1], &x) > 0; j--)
			e[j] = e[j - 1];
		e[j] = x;
	}
}

/* The key's index: the entries of the CRLs checked now, sorted, merged with those taken over
 * from old, filtered out of its sorted index in one pass (so already in order). */
static int finish_index(served_key *k, const served_key *old, const int32_t *take, size_t nold_parts)
{
	revoked *fresh = k->entries, *out;
	size_t nfresh = k->nentries, ntaken = 0, i, j, o;
	int32_t last = -1;
	bool renumbered_in_order = true;

	if (nfresh > 0)
		qsort(fresh, nfresh, sizeof(*fresh), cmp_entry);
	for (i = 0; old != NULL && i < nold_parts; i++) {
		if (take[i] < 0)
			continue;
		renumbered_in_order = renumbered_in_order && take[i] > last;
		last = take[i];
	}
	for (i = 0; old != NULL && i < old->nentries; i++)
		ntaken += take[old->entries[i].partition] >= 0;
	if (ntaken == 0) {
		/* the growth slack is not kept */
		if (nfresh > 0 && (out = realloc(fresh, nfresh * sizeof(*out))) != NULL)
			k->entries = out;
		return 0;
	}
	out = malloc((ntaken + nfresh) * sizeof(*out));
	if (out == NULL)
		return -1;
	for (i = o = 0; i < old->nentries; i++) {
		int32_t p = take[old->entries[i].partition];

		if (p < 0)
			continue;
		out[o] = old->entries[i];
		out[o++].partition = (uint16_t)p;
	}
	if (!renumbered_in_order)
		fix_ties(out, ntaken);
	/* from the end, so that the fresh run (the small one) is all the extra memory */
	for (i = ntaken, j = nfresh, o = ntaken + nfresh; j > 0;)
		out[--o] = i > 0 && cmp_entry(&out[i - 1], &fresh[j - 1]) > 0 ? out[--i] : fresh[--j];
	free(fresh);
	k->entries = out;
	k->nentries = ntaken + nfresh;
	return 0;
}

/* A partition that has had a CRL of a key (it has the key's mark) and is no longer in the
 * repository — its entry deleted, renamed, or hidden from the responder — leaves revocations
 * that no remaining CRL lists: the key is then not current, and its certificates are answered
 * tryLater, never good. The marks are kept (store), so this holds across restarts too. */
static void missing_partitions(snapshot *s, const model *m)
{
	char id[2 * SHA_DIGEST_LENGTH + 1];
	size_t i, k, p;

	for (i = 0; i < s->nmarks; i++) {
		for (p = 0; p < m->nparts && strcmp(m->parts[p].ndn, s->marks[i].dn) != 0; p++)
			;
		for (k = 0; p == m->nparts && k < s->nkeys; k++) {
			if (memcmp(s->keys[k].key->id, s->marks[i].key_id, sizeof(s->marks[i].key_id)) != 0)
				continue;
			s->keys[k].all_current_at_build = false;
			jpki_hex(s->marks[i].key_id, sizeof(s->marks[i].key_id), id);
			ocspd_log(OCSPD_LOG_WARNING, "partition %s, which has had CRLs of CA key %s, is not in the "
				"repository: that key's certificates are answered tryLater, not good, until it is back",
				s->marks[i].dn, id);
		}
	}
}

/* Every partition CRL, checked with the repository's rules against what prev accepted (or,
 * with reuse, taken over from prev when unchanged and checked with the same rules), into its
 * key's index; then what is kept in place of the refused ones. */
int snapshot_crls_build(snapshot *s, const model *m, const jpki_crl_policy *pol, time_t now, const snapshot *prev,
	bool reuse)
{
	size_t i, p, *caps;
	carry cy = { 0 };
	int rc = -1;

	s->policy = *pol;
	s->nparts = m->nparts;
	s->part_dns = calloc(m->nparts + 1, sizeof(*s->part_dns));
	s->nkeys = jpki_trust_count(s->trust);
	s->keys = calloc(s->nkeys + 1, sizeof(*s->keys));
	caps = calloc(s->nkeys + 1, sizeof(*caps));
	if (s->part_dns == NULL || s->keys == NULL || caps == NULL)
		goto out;
	for (p = 0; p < m->nparts; p++)
		if ((s->part_dns[p] = strdup(m->parts[p].dn)) == NULL)
			goto out;
	for (i = 0; i < s->nkeys; i++) {
		s->keys[i].key = jpki_trust_key(s->trust, i);
		s->keys[i].nparts = m->nparts;
		s->keys[i].parts = calloc(m->nparts + 1, sizeof(partition_times));
		s->keys[i].sources = calloc(m->nparts + 1, sizeof(crl_source));
		if (s->keys[i].parts == NULL || s->keys[i].sources == NULL)
			goto out;
		snapshot_hash_issuer(&s->keys[i]);
	}
	for (p = 0; p < m->nparts; p++)
		if (m->parts[p].ndn == NULL)
			goto out;	/* its model_set_partition failed */
	if (marks_init(s, prev, m) < 0 ||
	    carry_init(&cy, prev, reuse && prev != NULL && same_rules(prev, s, pol), s, m) < 0)
		goto out;
	for (p = 0; p < m->nparts; p++)
		if (build_partition(s, &cy, m, p, pol, now, caps) < 0)
			goto out;
	if (marks_raise(s, m) < 0)
		goto out;
	for (i = 0; i < s->nkeys; i++) {
		served_key *k = &s->keys[i];

		if (finish_index(k, cy.reuse ? &cy.prev->keys[i] : NULL, cy.reuse ? cy.take[i] : NULL,
			    cy.reuse ? cy.prev->nparts : 0) < 0)
			goto out;
		k->all_current_at_build = m->nparts > 0;
		for (p = 0; p < k->nparts; p++) {
			if (k->parts[p].next_update == 0) {
				k->all_current_at_build = false;
				continue;
			}
			if (k->oldest_this == 0 || k->parts[p].this_update < k->oldest_this)
				k->oldest_this = k->parts[p].this_update;
			if (k->earliest_next == 0 || k->parts[p].next_update < k->earliest_next)
				k->earliest_next = k->parts[p].next_update;
		}
	}
	missing_partitions(s, m);
	rc = 0;
out:
	carry_free(&cy, s->nkeys);
	free(caps);
	return rc;
}
