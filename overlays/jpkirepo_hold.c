/* A lock held from a write's check until the backend has answered it, so that two writes
 * cannot both pass a check against the same stored state (rule (e) for CRLs, registry-unique
 * and registry-terminated for the registry). It is released when the result is decided —
 * before the answer is written to a client that may be slow to read it — or, for an
 * abandoned operation, which skips the response callbacks, at the operation's cleanup. */
#include "jpkirepo.h"

typedef struct held {
	ldap_pvt_thread_mutex_t *lock;
	jpkirepo_answered *answered;
	void *arg;
	int released;
} held;

static void release(held *h)
{
	if (!h->released)
		ldap_pvt_thread_mutex_unlock(h->lock);
	h->released = 1;
}

static int hold_answered(Operation *op, SlapReply *rs)
{
	held *h = op->o_callback->sc_private;

	if (rs->sr_type != REP_RESULT)
		return SLAP_CB_CONTINUE;
	if (h->answered != NULL && !h->released)
		h->answered(op, rs, h->arg);
	release(h);
	return SLAP_CB_CONTINUE;
}

static int hold_done(Operation *op, SlapReply *rs)
{
	if (rs->sr_type != REP_RESULT)
		return SLAP_CB_CONTINUE;
	release(op->o_callback->sc_private);
	jpkirepo_callback_pop(op, 1);
	return SLAP_CB_CONTINUE;
}

slap_callback *jpkirepo_callback_push(Operation *op, slap_response *response, slap_response *cleanup,
	void *priv)
{
	slap_callback *cb = op->o_tmpcalloc(1, sizeof(*cb), op->o_tmpmemctx);

	cb->sc_response = response;
	cb->sc_cleanup = cleanup;
	cb->sc_private = priv;
	cb->sc_next = op->o_callback;
	op->o_callback = cb;
	return cb;
}

void jpkirepo_callback_pop(Operation *op, int free_priv)
{
	slap_callback *cb = op->o_callback;

	op->o_callback = NULL;	/* slap_cleanup_play: this callback is done */
	if (free_priv)
		op->o_tmpfree(cb->sc_private, op->o_tmpmemctx);
	op->o_tmpfree(cb, op->o_tmpmemctx);
}

void jpkirepo_hold_until_answered(Operation *op, ldap_pvt_thread_mutex_t *lock,
	jpkirepo_answered *answered, void *arg)
{
	held *h = op->o_tmpcalloc(1, sizeof(*h), op->o_tmpmemctx);

	h->lock = lock;
	h->answered = answered;
	h->arg = arg;
	jpkirepo_callback_push(op, hold_answered, hold_done, h);
}
