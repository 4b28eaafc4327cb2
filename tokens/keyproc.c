/*
 * tokens/keyproc.c — the key process.
 *
 * Like acme-client's keyproc and OpenSSH's monitor: the process that parses
 * network input never holds a private key.  tok_keyproc_start() forks; the
 * child drops core dumps and ptrace (PR_SET_DUMPABLE 0), closes every
 * descriptor except its ends of KP_LANES SOCK_SEQPACKET socketpairs and
 * stderr, loads the key store and answers requests one at a time, polling all
 * lanes.  The parent keeps only its ends of the sockets.
 *
 * Lanes: each lane carries one request at a time, so the parent's threads
 * take a free lane each and several requests wait in the child's socket
 * buffers at once.  With a single lane every sign cost a full round trip
 * with two cross-CPU wake-ups (about 130 us on an idle 2-vCPU VM) and that
 * capped the whole token endpoint near 5,500 signs/s (bench/notes.md); with
 * lanes, one wake-up of the child serves every waiting request.
 *
 * Protocol (one datagram each way, integers big-endian, every length
 * checked, trailing bytes refused):
 *   request  u8 version, u8 op, u32 seq, i64 now,
 *            u8 kidlen, kid[kidlen], u32 inlen, in[inlen]
 *   reply    u8 version, u8 op, u32 seq, i32 status, u8 alg,
 *            u8 kidlen, kid[kidlen], u32 datalen, data[datalen]
 * ops: SIGN (kid, in -> data = signature), CURRENT (now -> kid, alg),
 * JWKS (now -> data = JSON), RELOAD.  The child sends one READY reply
 * (seq 0) on lane 0 once the keys are loaded, with the load status.  A
 * reply goes out on the lane its request came in on.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "tokens/tok_int.h"

#define KP_VERSION	1
#define KP_OP_READY	0
#define KP_OP_SIGN	1
#define KP_OP_CURRENT	2
#define KP_OP_JWKS	3
#define KP_OP_RELOAD	4

#define KP_REQ_FIXED	(1 + 1 + 4 + 8 + 1 + 4)
#define KP_REQ_MAX	(KP_REQ_FIXED + TOK_KID_MAX_LEN + TOK_SIGN_INPUT_MAX)
#define KP_REP_FIXED	(1 + 1 + 4 + 4 + 1 + 1 + 4)
#define KP_REP_MAX	(KP_REP_FIXED + TOK_KID_MAX_LEN + TOK_JWKS_MAX_LEN)
#define KP_TIMEOUT_SEC	10	/* a reply later than this is given up on */
#define KP_SOCKBUF	(KP_REP_MAX + 4096)
#define KP_FD		3	/* the child's first socket */
#define KP_LANES	16	/* socketpairs; each one request in flight */

struct kp_msg {
	uint8_t		 op;
	uint32_t	 seq;
	int64_t		 now;
	int32_t		 status;
	uint8_t		 alg;
	char		 kid[TOK_KID_MAX_LEN + 1];
	const uint8_t	*data;		/* points into the datagram */
	size_t		 datalen;
};

/* Bounded cursor over one datagram. */
struct cur {
	const uint8_t	*p;
	size_t		 left;
};

static int
get_bytes(struct cur *c, size_t n, const uint8_t **out)
{
	if (n > c->left)
		return CM_ERR_INVAL;
	*out = c->p;
	c->p += n;
	c->left -= n;
	return 0;
}

static int
get_u8(struct cur *c, uint8_t *v)
{
	const uint8_t *p;

	if (get_bytes(c, 1, &p) != 0)
		return CM_ERR_INVAL;
	*v = p[0];
	return 0;
}

static int
get_u32(struct cur *c, uint32_t *v)
{
	const uint8_t *p;

	if (get_bytes(c, 4, &p) != 0)
		return CM_ERR_INVAL;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
	return 0;
}

static int
get_u64(struct cur *c, uint64_t *v)
{
	uint32_t hi, lo;

	if (get_u32(c, &hi) != 0 || get_u32(c, &lo) != 0)
		return CM_ERR_INVAL;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

static int
get_kid(struct cur *c, char *kid)
{
	const uint8_t *p;
	uint8_t n;

	kid[0] = '\0';
	if (get_u8(c, &n) != 0 || n > TOK_KID_MAX_LEN ||
	    get_bytes(c, n, &p) != 0)
		return CM_ERR_INVAL;
	memcpy(kid, p, n);
	kid[n] = '\0';
	if (n > 0 && !tok_kid_valid(kid, n))
		return CM_ERR_INVAL;
	return 0;
}

static int
put_u8(struct cm_buf *b, uint8_t v)
{
	return cm_buf_append(b, &v, 1);
}

static int
put_u32(struct cm_buf *b, uint32_t v)
{
	uint8_t p[4] = { v >> 24, v >> 16, v >> 8, v };

	return cm_buf_append(b, p, sizeof(p));
}

static int
put_kid(struct cm_buf *b, const char *kid)
{
	size_t n = kid != NULL ? strlen(kid) : 0;
	int r;

	if (n > TOK_KID_MAX_LEN)
		return CM_ERR_RANGE;
	if ((r = put_u8(b, (uint8_t)n)) != 0)
		return r;
	return cm_buf_append(b, kid, n);
}

static int
put_data(struct cm_buf *b, const void *p, size_t n)
{
	int r;

	if (n > UINT32_MAX)
		return CM_ERR_RANGE;
	if ((r = put_u32(b, (uint32_t)n)) != 0)
		return r;
	return cm_buf_append(b, p, n);
}

static int
parse_req(const uint8_t *p, size_t len, struct kp_msg *m)
{
	struct cur c = { p, len };
	uint8_t ver;
	uint64_t now;
	uint32_t n;

	memset(m, 0, sizeof(*m));
	if (get_u8(&c, &ver) != 0 || ver != KP_VERSION ||
	    get_u8(&c, &m->op) != 0 || get_u32(&c, &m->seq) != 0 ||
	    get_u64(&c, &now) != 0 || get_kid(&c, m->kid) != 0 ||
	    get_u32(&c, &n) != 0 || n > TOK_SIGN_INPUT_MAX ||
	    get_bytes(&c, n, &m->data) != 0 || c.left != 0)
		return CM_ERR_INVAL;
	m->now = (int64_t)now;
	m->datalen = n;
	return 0;
}

static int
parse_rep(const uint8_t *p, size_t len, struct kp_msg *m)
{
	struct cur c = { p, len };
	uint8_t ver;
	uint32_t st, n;

	memset(m, 0, sizeof(*m));
	if (get_u8(&c, &ver) != 0 || ver != KP_VERSION ||
	    get_u8(&c, &m->op) != 0 || get_u32(&c, &m->seq) != 0 ||
	    get_u32(&c, &st) != 0 || get_u8(&c, &m->alg) != 0 ||
	    get_kid(&c, m->kid) != 0 || get_u32(&c, &n) != 0 ||
	    n > TOK_JWKS_MAX_LEN || get_bytes(&c, n, &m->data) != 0 ||
	    c.left != 0)
		return CM_ERR_INVAL;
	m->status = (int32_t)st;
	/* only our own codes, and never "success" with garbage */
	if (m->status > 0 || m->status <= CM_ERR_COMPONENT_BASE)
		m->status = CM_ERR_INTERNAL;
	m->datalen = n;
	return 0;
}

static int
send_msg(int fd, const struct cm_buf *b)
{
	ssize_t n;

	do {
		n = send(fd, b->data, b->len, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno == EPIPE || errno == ECONNRESET ?
		    CM_ERR_UNAVAIL : CM_ERR_IO;
	return (size_t)n == b->len ? 0 : CM_ERR_IO;
}

/* One datagram; CM_ERR_RANGE if it was longer than bufsz. */
static int
recv_msg(int fd, uint8_t *buf, size_t bufsz, size_t *len)
{
	ssize_t n;

	*len = 0;
	do {
		n = recv(fd, buf, bufsz, MSG_TRUNC);
	} while (n == -1 && errno == EINTR);
	if (n == 0)
		return CM_ERR_UNAVAIL;		/* peer gone */
	if (n == -1)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ?
		    CM_ERR_TIMEOUT : CM_ERR_IO;
	if ((size_t)n > bufsz)
		return CM_ERR_RANGE;
	*len = (size_t)n;
	return 0;
}

/* ---- child ---- */

static int
child_reply(int fd, uint8_t op, uint32_t seq, int status, enum tok_alg alg,
    const char *kid, const void *data, size_t len)
{
	struct cm_buf b;
	int r;

	cm_buf_init(&b, KP_REP_MAX, 0);
	if ((r = put_u8(&b, KP_VERSION)) == 0 &&
	    (r = put_u8(&b, op)) == 0 &&
	    (r = put_u32(&b, seq)) == 0 &&
	    (r = put_u32(&b, (uint32_t)status)) == 0 &&
	    (r = put_u8(&b, (uint8_t)alg)) == 0 &&
	    (r = put_kid(&b, kid)) == 0 &&
	    (r = put_data(&b, data, len)) == 0)
		r = send_msg(fd, &b);
	cm_buf_free(&b);
	return r;
}

static int
child_handle(int fd, tok_signer *s, const uint8_t *req, size_t len)
{
	struct kp_msg m;
	uint8_t sig[TOK_SIG_MAX_LEN];
	char kid[TOK_KID_MAX_LEN + 1];
	enum tok_alg alg = TOK_ALG_UNKNOWN;
	char *jwks = NULL;
	size_t siglen = 0;
	int r, st;

	if (parse_req(req, len, &m) != 0)
		return child_reply(fd, 0, m.seq, CM_ERR_INVAL, 0, NULL, NULL,
		    0);
	switch (m.op) {
	case KP_OP_SIGN:
		st = m.kid[0] == '\0' ? CM_ERR_INVAL :
		    tok_signer_sign_at(s, m.kid, m.now, m.data, m.datalen, sig,
		    sizeof(sig), &siglen);
		r = child_reply(fd, m.op, m.seq, st, 0, NULL, sig,
		    st == 0 ? siglen : 0);
		OPENSSL_cleanse(sig, sizeof(sig));
		return r;
	case KP_OP_CURRENT:
		st = tok_signer_current_kid(s, m.now, kid, sizeof(kid), &alg);
		return child_reply(fd, m.op, m.seq, st, alg,
		    st == 0 ? kid : NULL, NULL, 0);
	case KP_OP_JWKS:
		st = tok_signer_jwks(s, m.now, &jwks);
		r = child_reply(fd, m.op, m.seq, st, 0, NULL, jwks,
		    st == 0 ? strlen(jwks) : 0);
		free(jwks);
		return r;
	case KP_OP_RELOAD:
		st = tok_signer_reload(s);
		if (st != 0)
			cm_warn(NULL, "keyproc.reload.fail", "{s:s}", "error",
			    cm_strerror(st));
		return child_reply(fd, m.op, m.seq, st, 0, NULL, NULL, 0);
	default:
		return child_reply(fd, m.op, m.seq, CM_ERR_UNSUPPORTED, 0,
		    NULL, NULL, 0);
	}
}

/*
 * Move the lane sockets to KP_FD..KP_FD+KP_LANES-1 and close everything
 * else (the parent's ends too: there is no exec to honour CLOEXEC).  First
 * above the target range, so that no dup2 lands on a lane not yet moved.
 */
static void
child_close_fds(const int *socks)
{
	int hi[KP_LANES], i, fd, null;

	for (i = 0; i < KP_LANES; i++)
		if ((hi[i] = fcntl(socks[i], F_DUPFD, KP_FD + KP_LANES)) == -1)
			_exit(1);
	for (i = 0; i < KP_LANES; i++)
		if (dup2(hi[i], KP_FD + i) == -1)
			_exit(1);
	if (close_range(KP_FD + KP_LANES, ~0U, 0) == -1) {
		long max = sysconf(_SC_OPEN_MAX);

		for (fd = KP_FD + KP_LANES; fd < (max > 0 ? max : 1024); fd++)
			(void)close(fd);
	}
	/* stdin and stdout to /dev/null; stderr stays for logs */
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1 ||
	    dup2(null, STDIN_FILENO) == -1 || dup2(null, STDOUT_FILENO) == -1)
		_exit(1);
	if (null >= KP_FD + KP_LANES)
		(void)close(null);
}

/*
 * One request from a lane that poll() found readable.  Returns -1 when the
 * parent is gone or the lane broke, 0 otherwise.
 */
static int
child_serve(int fd, tok_signer *s, uint8_t *buf)
{
	size_t len;
	int r;

	r = recv_msg(fd, buf, KP_REQ_MAX, &len);
	if (r == CM_ERR_UNAVAIL)
		return -1;		/* parent closed: done */
	if (r == CM_ERR_RANGE)
		return child_reply(fd, 0, 0, CM_ERR_RANGE, 0, NULL, NULL,
		    0) != 0 ? -1 : 0;
	if (r != 0 || child_handle(fd, s, buf, len) != 0)
		return -1;
	OPENSSL_cleanse(buf, len);
	return 0;
}

static void __attribute__((noreturn))
child_main(const int *socks, const char *dir, pid_t parent)
{
	static const struct rlimit zero = { 0, 0 };
	struct pollfd pfd[KP_LANES];
	tok_signer *s = NULL;
	uint8_t *buf = NULL;
	int i, n, r;

	/* no core dumps, no ptrace by our own uid, die with the parent */
	if (prctl(PR_SET_DUMPABLE, 0) == -1 ||
	    prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
	    setrlimit(RLIMIT_CORE, &zero) == -1)
		_exit(1);
	(void)signal(SIGHUP, SIG_IGN);	/* the parent relays reloads */
	(void)signal(SIGINT, SIG_IGN);
	(void)signal(SIGPIPE, SIG_IGN);
	/* the parent's log file descriptor is about to be closed */
	if (cm_log_open(NULL, CM_LOG_INFO) != 0)
		_exit(1);
	child_close_fds(socks);
	if (getppid() != parent)
		_exit(1);	/* parent died before PDEATHSIG was set */

	r = tok_signer_new_local(dir, &s);
	if (r != 0)
		cm_err(NULL, "keyproc.load.fail", "{s:s}", "error",
		    cm_strerror(r));
	if (child_reply(KP_FD, KP_OP_READY, 0, r, 0, NULL, NULL, 0) != 0 ||
	    r != 0)
		_exit(1);
	if ((buf = malloc(KP_REQ_MAX)) == NULL)
		_exit(1);
	for (i = 0; i < KP_LANES; i++) {
		pfd[i].fd = KP_FD + i;
		pfd[i].events = POLLIN;
	}
	for (;;) {
		if ((n = poll(pfd, KP_LANES, -1)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		/* one request per ready lane per round: no lane starves */
		for (i = 0; i < KP_LANES && n > 0; i++) {
			if (pfd[i].revents == 0)
				continue;
			n--;
			if (child_serve(pfd[i].fd, s, buf) != 0)
				goto done;
		}
	}
done:
	free(buf);
	tok_signer_free(&s);
	_exit(0);
}

/* ---- parent ---- */

struct kp_lane {
	int		 fd;
	uint32_t	 seq;
	pthread_mutex_t	 mtx;		/* one request in flight */
	uint8_t		*rbuf;		/* KP_REP_MAX, under mtx */
};

/*
 * The current signing key is a function of the key store and the second
 * (tok_keystore_signing_key), and the store only changes on RELOAD: so the
 * answer for one second is kept and the child is asked once per second,
 * not once per token (a second round trip on every token before).  gen
 * moves on every reload, so an answer fetched across a reload is not kept.
 */
struct kp_cur {
	pthread_mutex_t	 mtx;
	uint64_t	 gen;		/* reloads so far */
	int		 valid;
	int64_t		 now;
	enum tok_alg	 alg;
	char		 kid[TOK_KID_MAX_LEN + 1];
};

struct kp_ctx {
	pid_t		 pid;
	unsigned	 next;		/* where the next caller starts looking */
	int		 nlanes;	/* initialised mutexes */
	int		 cur_init;
	struct kp_cur	 cur;
	struct kp_lane	 lane[KP_LANES];
};

/*
 * A free lane, locked: callers spread from a rotating start and take the
 * first one not in use; when all are busy, wait on the one at the start.
 */
static struct kp_lane *
lane_get(struct kp_ctx *c)
{
	unsigned start, i;
	struct kp_lane *l;

	start = __atomic_fetch_add(&c->next, 1, __ATOMIC_RELAXED);
	for (i = 0; i < KP_LANES; i++) {
		l = &c->lane[(start + i) % KP_LANES];
		if (pthread_mutex_trylock(&l->mtx) == 0)
			return l;
	}
	l = &c->lane[start % KP_LANES];
	pthread_mutex_lock(&l->mtx);
	return l;
}

/*
 * One round trip on a lane.  On success the reply is in m; its data points
 * into c->rbuf, valid while the caller holds c->mtx.
 */
static int
kp_call_locked(struct kp_lane *c, uint8_t op, int64_t now, const char *kid,
    const uint8_t *in, size_t inlen, struct kp_msg *m)
{
	struct cm_buf b;
	uint32_t seq;
	size_t len;
	int r = CM_ERR_INTERNAL, tries;

	cm_buf_init(&b, KP_REQ_MAX, 0);
	if (c->fd == -1) {
		r = CM_ERR_UNAVAIL;
		goto out;
	}
	seq = ++c->seq;
	if (seq == 0)
		seq = c->seq = 1;	/* 0 is the READY message */
	if ((r = put_u8(&b, KP_VERSION)) != 0 ||
	    (r = put_u8(&b, op)) != 0 ||
	    (r = put_u32(&b, seq)) != 0 ||
	    (r = put_u32(&b, (uint32_t)((uint64_t)now >> 32))) != 0 ||
	    (r = put_u32(&b, (uint32_t)now)) != 0 ||
	    (r = put_kid(&b, kid)) != 0 ||
	    (r = put_data(&b, in, inlen)) != 0)
		goto out;
	if ((r = send_msg(c->fd, &b)) != 0)
		goto out;
	/* skip replies to requests that timed out earlier (bounded) */
	for (tries = 0; tries < 8; tries++) {
		if ((r = recv_msg(c->fd, c->rbuf, KP_REP_MAX, &len)) != 0)
			goto out;
		if ((r = parse_rep(c->rbuf, len, m)) != 0)
			goto out;
		if (m->seq == seq)
			break;
	}
	if (tries == 8 || m->op != op) {
		r = CM_ERR_INTERNAL;
		goto out;
	}
	r = m->status;
out:
	if (r == CM_ERR_UNAVAIL)
		cm_err(NULL, "keyproc.unavailable", NULL);
	cm_buf_free(&b);
	return r;
}

static int
kp_sign(void *vctx, const char *kid, int64_t now, const uint8_t *in,
    size_t len, uint8_t *sig, size_t sigsz, size_t *siglen)
{
	struct kp_lane *c = lane_get(vctx);
	struct kp_msg m;
	int r;

	if ((r = kp_call_locked(c, KP_OP_SIGN, now, kid, in, len, &m)) == 0) {
		if (m.datalen == 0 || m.datalen > TOK_SIG_MAX_LEN)
			r = CM_ERR_INTERNAL;
		else if (m.datalen > sigsz)
			r = CM_ERR_RANGE;
		else {
			memcpy(sig, m.data, m.datalen);
			*siglen = m.datalen;
		}
	}
	pthread_mutex_unlock(&c->mtx);
	return r;
}

static int
kp_current_kid(void *vctx, int64_t now, char *kid, size_t kidsz,
    enum tok_alg *alg)
{
	struct kp_ctx *ctx = vctx;
	struct kp_lane *c;
	struct kp_msg m;
	uint64_t gen;
	int r;

	pthread_mutex_lock(&ctx->cur.mtx);
	if (ctx->cur.valid && ctx->cur.now == now) {
		if (strlen(ctx->cur.kid) >= kidsz)
			r = CM_ERR_RANGE;
		else {
			memcpy(kid, ctx->cur.kid, strlen(ctx->cur.kid) + 1);
			*alg = ctx->cur.alg;
			r = 0;
		}
		pthread_mutex_unlock(&ctx->cur.mtx);
		return r;
	}
	gen = ctx->cur.gen;
	pthread_mutex_unlock(&ctx->cur.mtx);

	c = lane_get(ctx);
	if ((r = kp_call_locked(c, KP_OP_CURRENT, now, NULL, NULL, 0,
	    &m)) == 0) {
		if (m.kid[0] == '\0' || tok_alg_name(m.alg) == NULL)
			r = CM_ERR_INTERNAL;
		else if (strlen(m.kid) >= kidsz)
			r = CM_ERR_RANGE;
		else {
			memcpy(kid, m.kid, strlen(m.kid) + 1);
			*alg = (enum tok_alg)m.alg;
		}
	}
	pthread_mutex_unlock(&c->mtx);
	if (r != 0)
		return r;
	pthread_mutex_lock(&ctx->cur.mtx);
	if (ctx->cur.gen == gen && (!ctx->cur.valid || now >= ctx->cur.now)) {
		memcpy(ctx->cur.kid, kid, strlen(kid) + 1);
		ctx->cur.alg = *alg;
		ctx->cur.now = now;
		ctx->cur.valid = 1;
	}
	pthread_mutex_unlock(&ctx->cur.mtx);
	return 0;
}

static int
kp_jwks(void *vctx, int64_t now, char **out)
{
	struct kp_lane *c = lane_get(vctx);
	struct kp_msg m;
	char *s;
	int r;

	if ((r = kp_call_locked(c, KP_OP_JWKS, now, NULL, NULL, 0, &m)) == 0) {
		if (m.datalen == 0 || memchr(m.data, '\0', m.datalen) != NULL)
			r = CM_ERR_INTERNAL;
		else if ((s = malloc(m.datalen + 1)) == NULL)
			r = CM_ERR_NOMEM;
		else {
			memcpy(s, m.data, m.datalen);
			s[m.datalen] = '\0';
			*out = s;
		}
	}
	pthread_mutex_unlock(&c->mtx);
	return r;
}

static int
kp_reload(void *vctx)
{
	struct kp_ctx *ctx = vctx;
	struct kp_lane *c = lane_get(ctx);
	struct kp_msg m;
	int r;

	r = kp_call_locked(c, KP_OP_RELOAD, 0, NULL, NULL, 0, &m);
	pthread_mutex_unlock(&c->mtx);
	/* even a failed reload may have changed nothing or something */
	pthread_mutex_lock(&ctx->cur.mtx);
	ctx->cur.gen++;
	ctx->cur.valid = 0;
	pthread_mutex_unlock(&ctx->cur.mtx);
	return r;
}

static void
kp_free(void *vctx)
{
	struct kp_ctx *c = vctx;
	int i, status;

	if (c == NULL)
		return;
	for (i = 0; i < KP_LANES; i++)
		if (c->lane[i].fd != -1)
			close(c->lane[i].fd);	/* the child sees EOF, exits */
	if (c->pid > 0) {
		for (i = 0; i < 100; i++) {
			if (waitpid(c->pid, &status, WNOHANG) != 0)
				break;
			usleep(10000);
		}
		if (i == 100) {
			(void)kill(c->pid, SIGKILL);
			(void)waitpid(c->pid, &status, 0);
		}
	}
	for (i = 0; i < c->nlanes; i++)
		pthread_mutex_destroy(&c->lane[i].mtx);
	if (c->cur_init)
		pthread_mutex_destroy(&c->cur.mtx);
	for (i = 0; i < KP_LANES; i++)
		free(c->lane[i].rbuf);
	free(c);
}

static const struct tok_signer_ops kp_ops = {
	.sign = kp_sign,
	.current_kid = kp_current_kid,
	.jwks = kp_jwks,
	.reload = kp_reload,
	.free = kp_free,
};

int
tok_keyproc_start(const char *dir, tok_signer **out)
{
	struct kp_ctx *c = NULL;
	struct timeval tv = { KP_TIMEOUT_SEC, 0 };
	struct kp_msg m;
	size_t len;
	pid_t parent;
	int sv[2], child[KP_LANES], i, bufsz = KP_SOCKBUF;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	for (i = 0; i < KP_LANES; i++)
		child[i] = -1;
	if (dir == NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < KP_LANES; i++)
		c->lane[i].fd = -1;
	if (pthread_mutex_init(&c->cur.mtx, NULL) != 0)
		goto out;
	c->cur_init = 1;
	for (i = 0; i < KP_LANES; i++) {
		if ((c->lane[i].rbuf = malloc(KP_REP_MAX)) == NULL) {
			r = CM_ERR_NOMEM;
			goto out;
		}
		if (pthread_mutex_init(&c->lane[i].mtx, NULL) != 0)
			goto out;
		c->nlanes++;
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
		    sv) == -1) {
			r = CM_ERR_IO;
			goto out;
		}
		c->lane[i].fd = sv[0];
		child[i] = sv[1];
		/* room for the largest reply (a JWKS) in one datagram */
		(void)setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &bufsz,
		    sizeof(bufsz));
		(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsz,
		    sizeof(bufsz));
		if (setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv,
		    sizeof(tv)) == -1) {
			r = CM_ERR_IO;
			goto out;
		}
	}
	parent = getpid();
	switch (c->pid = fork()) {
	case -1:
		r = CM_ERR_IO;
		goto out;
	case 0:
		child_main(child, dir, parent);	/* never returns */
	default:
		break;
	}
	for (i = 0; i < KP_LANES; i++) {
		close(child[i]);
		child[i] = -1;
	}
	/* wait for the child to load the keys */
	if ((r = recv_msg(c->lane[0].fd, c->lane[0].rbuf, KP_REP_MAX,
	    &len)) != 0 ||
	    (r = parse_rep(c->lane[0].rbuf, len, &m)) != 0)
		goto out;
	if (m.op != KP_OP_READY || m.seq != 0) {
		r = CM_ERR_INTERNAL;
		goto out;
	}
	if ((r = m.status) != 0)
		goto out;
	r = tok_signer_new(&kp_ops, c, out);
	c = NULL;	/* transferred, even on failure */
out:
	for (i = 0; i < KP_LANES; i++)
		if (child[i] != -1)
			close(child[i]);
	kp_free(c);
	return r;
}
