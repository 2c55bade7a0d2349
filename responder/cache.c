#include "cache.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* 4-way set-associative: a key may sit in any of the WAYS slots of its set (a lock per
 * stripe of sets), so a few colliding CertID lists do not evict each other and get signed
 * afresh; the oldest of a full set is replaced. */
#define WAYS 4
#define SETS 4096
#define SLOTS (SETS * WAYS)
#define STRIPES 64

typedef struct slot {
	unsigned char key[32];
	unsigned long generation;
	time_t stored;
	unsigned char *der;
	size_t len;
	time_t last_modified, next_update, produced_at;
	bool one_certid;
	char etag[80];
	char *certids;
} slot;

static slot slots[SLOTS];
static pthread_mutex_t stripes[STRIPES] = { [0 ... STRIPES - 1] = PTHREAD_MUTEX_INITIALIZER };

static unsigned set_of(const unsigned char key[32])
{
	return ((unsigned)key[0] | (unsigned)key[1] << 8 | (unsigned)key[2] << 16) % SETS;
}

/* Under the set's stripe lock: the slot holding key, or NULL. */
static slot *find(unsigned set, const unsigned char key[32])
{
	unsigned w;

	for (w = 0; w < WAYS; w++)
		if (slots[set * WAYS + w].der != NULL && memcmp(slots[set * WAYS + w].key, key, 32) == 0)
			return &slots[set * WAYS + w];
	return NULL;
}

/* Under the set's stripe lock: where key goes (its slot, an empty one, or the oldest). */
static slot *victim(unsigned set, const unsigned char key[32])
{
	slot *s = find(set, key), *oldest = &slots[set * WAYS];
	unsigned w;

	if (s != NULL)
		return s;
	for (w = 0; w < WAYS; w++) {
		s = &slots[set * WAYS + w];
		if (s->der == NULL)
			return s;
		if (s->stored < oldest->stored)
			oldest = s;
	}
	return oldest;
}

int cache_get(const unsigned char key[32], unsigned long generation, time_t now, long max_age,
	unsigned char **der, size_t *len, ocspd_answer_info *info, char **certids)
{
	unsigned set = set_of(key);
	slot *s;
	int hit = 0;

	pthread_mutex_lock(&stripes[set % STRIPES]);
	s = find(set, key);
	if (s != NULL && s->generation == generation &&
	    now - s->stored < max_age && now < s->next_update &&
	    (*der = OPENSSL_malloc(s->len)) != NULL) {
		memcpy(*der, s->der, s->len);
		*len = s->len;
		info->last_modified = s->last_modified;
		info->one_certid = s->one_certid;
		info->next_update = s->next_update;
		info->produced_at = s->produced_at;
		memcpy(info->etag, s->etag, sizeof(info->etag));
		*certids = s->certids != NULL ? strdup(s->certids) : NULL;
		hit = s->certids == NULL || *certids != NULL;
		if (!hit) {
			OPENSSL_free(*der);	/* no memory for its record: answered as a miss */
			*der = NULL;
		}
	}
	pthread_mutex_unlock(&stripes[set % STRIPES]);
	return hit;
}

void cache_put(const unsigned char key[32], unsigned long generation, time_t now,
	const unsigned char *der, size_t len, const ocspd_answer_info *info, const char *certids)
{
	unsigned set = set_of(key);
	slot *s;
	unsigned char *copy = malloc(len);
	char *ids = certids != NULL ? strdup(certids) : NULL;

	if (copy == NULL || (certids != NULL && ids == NULL)) {
		free(copy);
		free(ids);
		return;
	}
	memcpy(copy, der, len);
	pthread_mutex_lock(&stripes[set % STRIPES]);
	s = victim(set, key);
	free(s->der);
	free(s->certids);
	s->certids = ids;
	memcpy(s->key, key, 32);
	s->generation = generation;
	s->stored = now;
	s->der = copy;
	s->len = len;
	s->last_modified = info->last_modified;
	s->one_certid = info->one_certid;
	s->next_update = info->next_update;
	s->produced_at = info->produced_at;
	memcpy(s->etag, info->etag, sizeof(s->etag));
	pthread_mutex_unlock(&stripes[set % STRIPES]);
}

void cache_clear(void)
{
	unsigned i;

	for (i = 0; i < SLOTS; i++) {
		pthread_mutex_lock(&stripes[(i / WAYS) % STRIPES]);
		free(slots[i].der);
		free(slots[i].certids);
		slots[i].der = NULL;
		slots[i].certids = NULL;
		pthread_mutex_unlock(&stripes[(i / WAYS) % STRIPES]);
	}
}
