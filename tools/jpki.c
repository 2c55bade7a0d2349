/* jpki: the repository operator's command. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *group, *verb, *summary;
	jpki_cmd_fn fn;
} commands[] = {
	{ "crl", "issue", "sign one CRL per municipality partition and the ARL from ledgers", cmd_crl_issue },
	{ "crl", "publish", "write CRL/ARL files into their repository entries", cmd_crl_publish },
	{ "ca", "publish", "write the CA certificates and cross-certificate pairs into the CA entry", cmd_ca_publish },
	{ "verifier", NULL, "add | suspend | resume | terminate | list | show registered verifiers", cmd_verifier },
	{ "audit", NULL, "verify | show | prune the audit trail", cmd_audit },
	{ "report", "provision", "provision status per recipient, month and method (CPS 4-5)", cmd_report_provision },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Columns, not bytes: printf pads "…" (three bytes in UTF-8) to too few columns. */
static void pad(FILE *to, const char *text, int width)
{
	const char *p;
	int cols = 0;

	for (p = text; *p != '\0'; p++)
		cols += ((unsigned char)*p & 0xc0) != 0x80;	/* not a continuation byte */
	fprintf(to, "%s%*s", text, width > cols ? width - cols : 0, "");
}

/* The commands of group, or all of them (group NULL). */
static void usage(FILE *to, const char *group)
{
	size_t i;

	fprintf(to, "usage: jpki <command> [options]   (jpki <command> --help for its options)\n\n");
	for (i = 0; i < NCOMMANDS; i++) {
		if (group != NULL && strcmp(group, commands[i].group) != 0)
			continue;
		fprintf(to, "  jpki ");
		pad(to, commands[i].group, 9);
		pad(to, commands[i].verb ? commands[i].verb : "…", 10);
		fprintf(to, "%s\n", commands[i].summary);
	}
}

static bool is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int main(int argc, char **argv)
{
	const char *group = NULL;
	size_t i;

	if (argc >= 2 && is_help(argv[1])) {
		usage(stdout, NULL);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("jpki %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (i = 0; argc >= 2 && i < NCOMMANDS; i++) {
		if (strcmp(argv[1], commands[i].group) != 0)
			continue;
		group = commands[i].group;
		/* A group without a verb of its own takes the verb as its first argument. */
		if (commands[i].verb == NULL)
			return commands[i].fn(argc - 1, argv + 1);
		if (argc >= 3 && strcmp(argv[2], commands[i].verb) == 0)
			return commands[i].fn(argc - 2, argv + 2);
	}
	/* "jpki crl --help" lists the crl commands; a verb it does not have is named. */
	if (group != NULL && argc >= 3 && is_help(argv[2])) {
		usage(stdout, group);
		return 0;
	}
	if (group == NULL && argc >= 2)
		fprintf(stderr, "jpki: no command '%s'\n", argv[1]);
	else if (group != NULL && argc >= 3)
		fprintf(stderr, "jpki %s: no command '%s'\n", group, argv[2]);
	else if (group != NULL)
		fprintf(stderr, "jpki %s: a command is needed\n", group);
	usage(stderr, group);
	return EXIT_USAGE;
}
