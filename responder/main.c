/* jpki-ocspd: the process. Options and configuration file, daemon or foreground, pid file,
 * log (syslog or stderr), signals handled in the main thread with sigwait: SIGHUP reloads,
 * SIGTERM/SIGINT stop after the requests in flight. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "ocspd.h"
#include "utctime.h"

#ifndef OCSPD_SYSCONFDIR
#define OCSPD_SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG OCSPD_SYSCONFDIR "/jpki-ocspd/jpki-ocspd.conf"

#define EXIT_START 1	/* could not start */
#define EXIT_CONFIG 2	/* bad command line or configuration */


/* ---- log ---- */

static atomic_int log_level = OCSPD_LOG_INFO;
static atomic_bool log_syslog = false;
static bool log_journal;	/* stderr read by journald: "<level>" prefixes, no time */

void ocspd_log(int level, const char *fmt, ...)
{
	char msg[2048], ts[JPKI_UTC_ISO_LEN + 1];
	const char *name;
	va_list ap;

	if (level > atomic_load(&log_level))
		return;
	va_start(ap, fmt);
	if (atomic_load(&log_syslog)) {
		vsyslog(level, fmt, ap);
		va_end(ap);
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_journal) {
		fprintf(stderr, "<%d>%s\n", level, msg);
		return;
	}
	name = level <= OCSPD_LOG_ERR ? "error" : level == OCSPD_LOG_WARNING ? "warning"
		: level == OCSPD_LOG_DEBUG ? "debug" : "info";
	jpki_utc_iso(time(NULL), ts);
	fprintf(stderr, "%s jpki-ocspd %s: %s\n", ts, name, msg);
}

/* ---- command line ---- */

typedef struct cmdline {
	const char *config;	/* -c, or NULL for the default file if it exists */
	bool foreground, check, help, version;
} cmdline;

/* The options main acts on itself, read before anything else. Every other option takes a
 * value (ocspd_config_args refuses abbreviations, so names are whole here). */
static void prescan(int argc, char **argv, cmdline *cl)
{
	memset(cl, 0, sizeof(*cl));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0 || a[0] != '-' || a[1] == '\0')
			break;
		if (a[1] == '-') {
			const char *name = a + 2;

			if (strcmp(name, "config") == 0) {
				if (i + 1 < argc)
					cl->config = argv[++i];
			} else if (strncmp(name, "config=", 7) == 0)
				cl->config = name + 7;
			else if (strcmp(name, "foreground") == 0)
				cl->foreground = true;
			else if (strcmp(name, "help") == 0)
				cl->help = true;
			else if (strcmp(name, "version") == 0)
				cl->version = true;
			else if (strcmp(name, "check") == 0)
				cl->check = true;
			else if (strchr(name, '=') == NULL)
				i++;	/* --name value */
			continue;
		}
		for (int j = 1; a[j] != '\0'; j++) {
			if (a[j] == 'f')
				cl->foreground = true;
			else if (a[j] == 'h')
				cl->help = true;
			else if (a[j] == 'c') {
				if (a[j + 1] != '\0')
					cl->config = a + j + 1;
				else if (i + 1 < argc)
					cl->config = argv[++i];
				break;
			}
		}
	}
}

static void usage(FILE *to)
{
	fprintf(to,
		"usage: jpki-ocspd [-c FILE] [-f] [--check] [--NAME VALUE]...\n"
		"       jpki-ocspd --help | --version\n\n"
		"  -c, --config FILE     configuration file (default " DEFAULT_CONFIG ", if present)\n"
		"  -f, --foreground      do not become a daemon; log to stderr\n"
		"      --check           read the configuration, print the effective settings, exit\n"
		"  -h, --help            this text\n"
		"      --version         the version\n\n"
		"Every setting of the configuration file is also an option --NAME VALUE, which wins over\n"
		"the file: listen port https-port https-cert https-key https-client-ca threads\n"
		"max-connections max-per-ip timeout max-request path ldap-uri bind-dn password-file\n"
		"ldap-tls-ca ca-dn verifier-base sync-heartbeat registry-max-age trust-anchor state-dir\n"
		"key-uri pin-file responder-cert max-certids cache-max-age require-signature\n"
		"allow-network clock-skew max-crl-validity max-crl-size audit-dir audit-policy audit-group-wait\n"
		"audit-checkpoint-key audit-checkpoint-cert audit-checkpoint-pin-file pid-file log-level.\n"
		"trust-anchor and allow-network may be repeated.\n"
		"See jpki-ocspd(8).\n");
}

/* Defaults, then the file, then the command line. */
static ocspd_config *load_config(const cmdline *cl, int argc, char **argv, char *err, size_t errlen)
{
	ocspd_config *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ocspd_config_defaults(c);
	if (cl->config != NULL || access(DEFAULT_CONFIG, F_OK) == 0) {
		if (ocspd_config_load(c, cl->config != NULL ? cl->config : DEFAULT_CONFIG, err, errlen) < 0)
			goto fail;
	}
	if (ocspd_config_args(c, argc, argv, err, errlen) < 0)
		goto fail;
	return c;
fail:
	ocspd_config_free(c);
	free(c);
	return NULL;
}

/* ---- daemon ---- */

/* Double fork; the first process waits until the daemon says it serves (or why it could not)
 * so that its exit status tells the starter. Returns the daemon's end of that pipe. */
static int daemonize(void)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		fprintf(stderr, "jpki-ocspd: pipe: %s\n", strerror(errno));
		exit(EXIT_START);
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "jpki-ocspd: fork: %s\n", strerror(errno));
		exit(EXIT_START);
	}
	if (pid > 0) {
		char buf[1024];
		size_t n = 0;
		ssize_t r;

		close(p[1]);
		while (n < sizeof(buf) - 1 && ((r = read(p[0], buf + n, sizeof(buf) - 1 - n)) > 0 ||
				(r < 0 && errno == EINTR)))
			n += r > 0 ? (size_t)r : 0;
		buf[n] = '\0';
		waitpid(pid, NULL, 0);
		if (n > 0 && buf[0] == '0')
			exit(0);
		fprintf(stderr, "jpki-ocspd: %s\n", n > 1 ? buf + 1 : "the daemon exited while starting");
		exit(EXIT_START);
	}
	close(p[0]);
	if (setsid() < 0)
		_exit(EXIT_START);
	pid = fork();
	if (pid < 0)
		_exit(EXIT_START);
	if (pid > 0)
		_exit(0);
	umask(027);
	if (chdir("/") < 0)
		_exit(EXIT_START);
	return p[1];
}

/* Tells the waiting parent (daemon mode) how the start went, then detaches from the terminal. */
static void started(int *fd, const char *error)
{
	int null;

	if (*fd < 0)
		return;
	if (error == NULL) {
		if (write(*fd, "0", 1) < 0) {
			/* the parent is gone; nothing to tell */
		}
	} else {
		char buf[1024];
		int n = snprintf(buf, sizeof(buf), "1%s", error);

		if (n > 0 && write(*fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1) < 0) {
			/* as above */
		}
	}
	close(*fd);
	*fd = -1;
	if (error == NULL && (null = open("/dev/null", O_RDWR)) >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
}

static int pid_fd = -1;

/* The pid file, locked for as long as the daemon runs: a second one refuses to start. */
static int write_pid_file(const char *path, char *err, size_t errlen)
{
	char buf[32];
	int n;

	if (path == NULL)
		return 0;
	pid_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (pid_fd < 0) {
		snprintf(err, errlen, "pid-file %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(pid_fd, LOCK_EX | LOCK_NB) < 0) {
		ssize_t r = read(pid_fd, buf, sizeof(buf) - 1);

		buf[r > 0 ? r : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(err, errlen, "pid-file %s: held by a running jpki-ocspd (pid %s)", path, buf);
		close(pid_fd);
		pid_fd = -1;
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(pid_fd, 0) < 0 || write(pid_fd, buf, (size_t)n) != n) {
		snprintf(err, errlen, "pid-file %s: %s", path, strerror(errno));
		close(pid_fd);
		pid_fd = -1;
		return -1;
	}
	return 0;
}

static void remove_pid_file(const char *path)
{
	if (pid_fd < 0)
		return;
	unlink(path);
	close(pid_fd);
	pid_fd = -1;
}

/* ---- reload ---- */

/* Every configuration handed to ocspd_start/ocspd_reload stays alive until exit: a request
 * in flight may still read the one it started with. */
static ocspd_config **configs;
static size_t nconfigs;

static int keep_config(ocspd_config *c)
{
	ocspd_config **a = realloc(configs, (nconfigs + 1) * sizeof(*a));

	if (a == NULL)
		return -1;
	configs = a;
	configs[nconfigs++] = c;
	return 0;
}

static bool str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

static bool anchors_differ(const ocspd_config *o, const ocspd_config *n)
{
	size_t i;

	if (o->nanchors != n->nanchors)
		return true;
	for (i = 0; i < o->nanchors; i++)
		if (str_differs(o->anchors[i], n->anchors[i]))
			return true;
	return false;
}

/* The settings of n that differ from o, the start's, and that only a restart applies. */
static void warn_restart_needed(const ocspd_config *o, const ocspd_config *n)
{
	if (str_differs(o->listen, n->listen) || o->port != n->port || o->https_port != n->https_port ||
		str_differs(o->https_cert, n->https_cert) || str_differs(o->https_key, n->https_key) ||
		str_differs(o->https_client_ca, n->https_client_ca) || o->threads != n->threads ||
		o->max_connections != n->max_connections || o->max_per_ip != n->max_per_ip ||
		o->timeout != n->timeout || str_differs(o->path, n->path) || str_differs(o->pid_file, n->pid_file))
		ocspd_log(OCSPD_LOG_WARNING, "reload: listener settings (listen, ports, https-*, threads, "
			"max-connections, max-per-ip, timeout, path, pid-file) differ from those in force since the start; "
			"they apply at the next start");
	if (str_differs(o->audit_dir, n->audit_dir) || str_differs(o->audit_policy, n->audit_policy) ||
		o->audit_group_wait_ms != n->audit_group_wait_ms ||
		str_differs(o->audit_checkpoint_key, n->audit_checkpoint_key) ||
		str_differs(o->audit_checkpoint_cert, n->audit_checkpoint_cert) ||
		str_differs(o->audit_checkpoint_pin, n->audit_checkpoint_pin))
		ocspd_log(OCSPD_LOG_WARNING, "reload: audit-* settings differ from those in force since the start; they "
			"apply at the next start (the trail stays as it was opened)");
	if (str_differs(o->ldap_uri, n->ldap_uri) || str_differs(o->bind_dn, n->bind_dn) ||
		str_differs(o->password_file, n->password_file) || str_differs(o->ldap_tls_ca, n->ldap_tls_ca) ||
		str_differs(o->ca_dn, n->ca_dn) || str_differs(o->verifier_base, n->verifier_base) ||
		o->sync_heartbeat != n->sync_heartbeat || anchors_differ(o, n) ||
		str_differs(o->state_dir, n->state_dir) || !jpki_crl_policy_equal(&o->policy, &n->policy))
		ocspd_log(OCSPD_LOG_WARNING, "reload: repository settings (ldap-uri, bind-dn, password-file, "
			"ldap-tls-ca, ca-dn, verifier-base, sync-heartbeat, trust-anchor, state-dir, clock-skew, "
			"max-crl-validity, max-crl-size) differ from those in force since the start; they apply "
			"at the next start (the sync with the repository goes on as it began)");
}

static void reload(const cmdline *cl, int argc, char **argv, ocspd_config **cur)
{
	char err[1024];
	ocspd_config *n = load_config(cl, argc, argv, err, sizeof(err));

	ocspd_log(OCSPD_LOG_INFO, "SIGHUP: reloading the configuration");
	if (n == NULL) {
		ocspd_log(OCSPD_LOG_ERR, "reload refused: %s; the running configuration stays", err);
		return;
	}
	if (keep_config(n) < 0) {
		ocspd_log(OCSPD_LOG_ERR, "reload refused: out of memory; the running configuration stays");
		ocspd_config_free(n);
		free(n);
		return;
	}
	if (ocspd_reload(n, err, sizeof(err)) < 0) {
		ocspd_log(OCSPD_LOG_ERR, "reload refused: %s; the running configuration stays", err);
		return;
	}
	warn_restart_needed(configs[0], n);	/* the start's: what the listeners, trail and sync use */
	http_reload(n);
	atomic_store(&log_level, n->log_level);
	*cur = n;
	ocspd_log(OCSPD_LOG_INFO, "reloaded");
}

/* ---- main ---- */

int main(int argc, char **argv)
{
	char err[1024], config_path[PATH_MAX];
	cmdline cl;
	ocspd_config *c;
	sigset_t sigs;
	int ready = -1, sig, status = 0;

	prescan(argc, argv, &cl);
	/* The daemon works from "/": SIGHUP must find the same file. */
	if (cl.config != NULL && cl.config[0] != '/' && realpath(cl.config, config_path) != NULL)
		cl.config = config_path;
	if (cl.help) {
		usage(stdout);
		return 0;
	}
	if (cl.version) {
		printf("jpki-ocspd %s\n", PACKAGE_VERSION);
		return 0;
	}
	if ((c = load_config(&cl, argc, argv, err, sizeof(err))) == NULL) {
		fprintf(stderr, "jpki-ocspd: %s\n", err);
		return EXIT_CONFIG;
	}
	if (cl.check) {
		ocspd_config_print(c, stdout);
		ocspd_config_free(c);
		free(c);
		return 0;
	}
	if (keep_config(c) < 0) {
		fprintf(stderr, "jpki-ocspd: out of memory\n");
		return EXIT_START;
	}
	atomic_store(&log_level, c->log_level);
	log_journal = cl.foreground && getenv("JOURNAL_STREAM") != NULL;

	/* Signals go to sigwait below only: blocked before any thread exists, so every thread
	 * (libmicrohttpd's, the sync and signer threads) inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!cl.foreground) {
		ready = daemonize();
		openlog("jpki-ocspd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		atomic_store(&log_syslog, true);
	}
	if (write_pid_file(c->pid_file, err, sizeof(err)) < 0)
		goto fail;
	if (ocspd_start(c, err, sizeof(err)) < 0) {
		remove_pid_file(c->pid_file);
		goto fail;
	}
	if (http_start(c, err, sizeof(err)) < 0) {
		ocspd_stop();
		remove_pid_file(c->pid_file);
		goto fail;
	}
	ocspd_log(OCSPD_LOG_INFO, "jpki-ocspd %s serving", PACKAGE_VERSION);
	started(&ready, NULL);

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload(&cl, argc, argv, &c);
			continue;
		}
		ocspd_log(OCSPD_LOG_INFO, "%s: stopping after the requests in flight", strsignal(sig));
		break;
	}
	if (http_stop() == 0)
		ocspd_stop();	/* else workers still hold answers: exit without closing under them */
	ocspd_log(OCSPD_LOG_INFO, "stopped");
	remove_pid_file(configs[0]->pid_file);
	goto out;
fail:
	ocspd_log(OCSPD_LOG_ERR, "cannot start: %s", err);
	started(&ready, err);	/* the waiting parent prints it on the terminal */
	status = EXIT_START;
out:
	for (size_t i = 0; i < nconfigs; i++) {
		ocspd_config_free(configs[i]);
		free(configs[i]);
	}
	free(configs);
	if (atomic_load(&log_syslog))
		closelog();
	return status;
}
