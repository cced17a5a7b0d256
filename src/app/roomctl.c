/*
 * roomctl.c - sends admin commands to a running roomd over its control
 * socket DIR/control.sock (the protocol is described at the top of roomd.c:
 * one command per line; the reply's lines each start with a space; a status
 * line "OK" or "ERR" ends each reply).  The commands are the firmware's
 * admin CLI (PROTOCOL.md §8) plus roomd's own; `help` lists them.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client/jsonl.h"
#include "sys/sys.h"
#include "util/err.h"
#include "util/num.h"

#define LINE_MAX_LEN 511 /* roomd's limit for one command line */

enum { EXIT_CMD_FAILED = 1, EXIT_USAGE = 2, EXIT_NO_DAEMON = 3 };

struct conn {
	int fd;
	char buf[16384];
	size_t len;
	int timeout_ms;
};

static void usage(FILE *f)
{
	fputs(
	    "NAME\n"
	    "    roomctl - send admin commands to a running roomd\n"
	    "\n"
	    "SYNOPSIS\n"
	    "    roomctl --data DIR [--room N] [--json] [--timeout SECS] COMMAND...\n"
	    "    roomctl --data DIR [--room N] [--json] [--timeout SECS] < commands.txt\n"
	    "\n"
	    "DESCRIPTION\n"
	    "    roomctl connects to the control socket DIR/control.sock of the roomd\n"
	    "    serving data directory DIR, runs one command (the words given on the\n"
	    "    command line, joined by spaces) or, with no COMMAND, every line read\n"
	    "    from standard input (empty lines and lines starting with '#' are\n"
	    "    skipped), and prints each reply.  The commands are those of the\n"
	    "    firmware's serial console (commands kept to the console, such as\n"
	    "    'get prv.key', 'stats-core' and 'log', work here) plus roomd's own;\n"
	    "    'roomctl -d DIR help' lists them.\n"
	    "\n"
	    "OPTIONS\n"
	    "    -d, --data DIR        data directory of the roomd (default $ROOMD_DATA)\n"
	    "    -S, --socket PATH     control socket path (default DIR/control.sock)\n"
	    "    -r, --room N          room to talk to: index or name as 'rooms' shows\n"
	    "                          (default: the first room)\n"
	    "    -j, --json            one JSON object per command on stdout:\n"
	    "                          {\"command\":\"...\",\"ok\":true,\"reply\":\"...\"}; a "
	    "reply\n"
	    "                          that is JSON itself (stats-room...) is an object\n"
	    "    -t, --timeout SECS    wait at most SECS for each reply (default 10)\n"
	    "    -k, --keep-going      with commands on stdin, run the rest after a failure\n"
	    "                          (the default stops at the first failed command)\n"
	    "    -h, --help            this text\n"
	    "        --version         print the version\n"
	    "\n"
	    "COMMANDS\n"
	    "    A few of them ('help' lists all):\n"
	    "    rooms, use N, room.add NAME     the rooms of the daemon\n"
	    "    room.remove N                   delete a room's data (its key is kept aside)\n"
	    "    get KEY, set KEY VALUE          settings (get name, set guest.password x)\n"
	    "    help set [KEY]                  every key with its aliases and range\n"
	    "    password PW                     the admin password\n"
	    "    members, setperm KEY PERM       members and their permissions\n"
	    "    post.list [N], post.delete ID   moderation\n"
	    "    ban KEY [REASON], unban KEY, bans\n"
	    "    backup /PATH/roomd.db           a copy of the database, the room keys beside it\n"
	    "    room.post TEXT                  post as the room\n"
	    "    region ..., log start|stop|erase, log, stats-core, stats-room, ver\n"
	    "    KEY is 64 hex digits or a unique prefix of at least 8 (as members prints)\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    0 every command succeeded; 1 a command was unknown or its reply reports\n"
	    "    an error (Err..., ERROR..., ??: key, unknown config ...); 2 usage error;\n"
	    "    3 the daemon could not be reached or did not answer in time.\n"
	    "\n"
	    "EXAMPLES\n"
	    "    roomctl -d ~/.roomd get name\n"
	    "    roomctl -d ~/.roomd --room 1 set guest.password s3cret\n"
	    "    printf 'rooms\\nstats-room\\n' | roomctl -d /var/lib/roomd --json\n",
	    f);
}

static int conn_open(struct conn *c, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "roomctl: %s: path too long for a socket\n", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "roomctl: %s: %s (is roomd running on this data directory?)\n",
		        path, strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		return -1;
	}
	c->len = 0;
	return 0;
}

static int send_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one line (without its newline) into out; -1 on EOF, error or timeout. */
static int read_line(struct conn *c, char *out, size_t cap)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			size_t n = (size_t)(nl - c->buf);
			size_t k = n < cap - 1 ? n : cap - 1;
			memcpy(out, c->buf, k);
			out[k] = 0;
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return 0;
		}
		if (c->len == sizeof(c->buf))
			return -1;
		struct pollfd p = {c->fd, POLLIN, 0};
		int r = poll(&p, 1, c->timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c->len += (size_t)n;
	}
}

/* True if reply is one JSON object (stats-core, stats-room...): --json then
 * gives it as an object, not as a string to parse again. */
static bool reply_is_json(const char *reply)
{
	static char copy[16384];
	struct jsonl_field f[64];
	int n;
	if (reply[0] != '{' || strlen(reply) >= sizeof(copy))
		return false;
	memcpy(copy, reply, strlen(reply) + 1);
	return jsonl_parse(copy, f, 64, &n) == ERR_OK;
}

static void print_json(const char *cmd, bool ok, const char *reply)
{
	static char out[3 * 16384 + 1024];
	struct jsonl_w w;
	jsonl_w_begin(&w, out, sizeof(out));
	jsonl_w_cstr(&w, "command", cmd);
	jsonl_w_bool(&w, "ok", ok);
	if (reply_is_json(reply))
		jsonl_w_raw(&w, "reply", reply);
	else
		jsonl_w_cstr(&w, "reply", reply);
	if (jsonl_w_end(&w) == ERR_OK)
		printf("%s\n", out);
}

/*
 * Runs one command; prints the reply (plain or JSON).  Returns 0 if it
 * succeeded, EXIT_CMD_FAILED, or EXIT_NO_DAEMON if the connection failed.
 */
static int run(struct conn *c, const char *cmd, bool json, bool quiet)
{
	char line[4096], reply[16384];
	size_t off = 0;
	int ok;

	if (strlen(cmd) > LINE_MAX_LEN || strchr(cmd, '\n')) {
		fprintf(stderr, "roomctl: command too long or with a newline\n");
		return EXIT_CMD_FAILED;
	}
	if (send_all(c->fd, cmd, strlen(cmd)) < 0 || send_all(c->fd, "\n", 1) < 0) {
		fprintf(stderr, "roomctl: the daemon closed the connection\n");
		return EXIT_NO_DAEMON;
	}
	reply[0] = 0;
	for (;;) {
		if (read_line(c, line, sizeof(line)) < 0) {
			fprintf(stderr, "roomctl: no answer from the daemon\n");
			return EXIT_NO_DAEMON;
		}
		if (line[0] != ' ') {
			ok = strcmp(line, "OK") == 0;
			break;
		}
		int n =
		    snprintf(reply + off, sizeof(reply) - off, "%s%s", off ? "\n" : "", line + 1);
		if (n > 0 && (size_t)n < sizeof(reply) - off)
			off += (size_t)n;
	}
	if (json) {
		print_json(cmd, ok, reply);
	} else if (!quiet || !ok) {
		if (off)
			printf("%s\n", reply);
	}
	fflush(stdout);
	return ok ? 0 : EXIT_CMD_FAILED;
}

/* What the command line asks for. */
struct opts {
	const char *dir, *sock, *room;
	bool json, keep_going;
	double timeout_s;
	char path[4096];
};

/* Parses the options; returns -1 to go on, else the exit status. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option opts[] = {
	    {"data", required_argument, 0, 'd'},
	    {"socket", required_argument, 0, 'S'},
	    {"room", required_argument, 0, 'r'},
	    {"json", no_argument, 0, 'j'},
	    {"timeout", required_argument, 0, 't'},
	    {"keep-going", no_argument, 0, 'k'},
	    {"help", no_argument, 0, 'h'},
	    {"version", no_argument, 0, 'V'},
	    {0, 0, 0, 0},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "+d:S:r:jt:kh", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': o->dir = optarg; break;
		case 'S': o->sock = optarg; break;
		case 'r': o->room = optarg; break;
		case 'j': o->json = true; break;
		case 'k': o->keep_going = true; break;
		case 't':
			if (!num_double(optarg, 0, 3600, &o->timeout_s) || !(o->timeout_s > 0)) {
				fprintf(stderr, "roomctl: --timeout wants 0 < SECS <= 3600\n");
				return EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("roomctl %s\n", APP_VERSION); return 0;
		default: /* getopt named the option; the manual is one --help away */
			fprintf(stderr, "roomctl: see 'roomctl --help'\n");
			return EXIT_USAGE;
		}
	}
	if (!o->sock) {
		if (!o->dir || !*o->dir) {
			fprintf(stderr, "roomctl: --data DIR is required (see roomctl --help)\n");
			return EXIT_USAGE;
		}
		snprintf(o->path, sizeof(o->path), "%s/control.sock", o->dir);
		o->sock = o->path;
	}
	return -1;
}

/* The words of the command line are one command. */
static int run_words(struct conn *c, int argc, char **argv, bool json)
{
	char cmd[LINE_MAX_LEN + 2];
	size_t off = 0;
	for (int i = 0; i < argc; i++) {
		int n = snprintf(cmd + off, sizeof(cmd) - off, "%s%s", i > 0 ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(cmd) - off) {
			fprintf(stderr, "roomctl: command longer than %d bytes\n", LINE_MAX_LEN);
			return EXIT_USAGE;
		}
		off += (size_t)n;
	}
	return run(c, cmd, json, false);
}

/* Every line of standard input is a command (blank lines and # comments skipped). */
static int run_stdin(struct conn *c, const struct opts *o)
{
	char line[LINE_MAX_LEN + 2];
	int status = 0;
	while (fgets(line, sizeof(line), stdin)) {
		size_t n = strlen(line);
		if (n && line[n - 1] != '\n' && !feof(stdin)) {
			fprintf(stderr, "roomctl: input line longer than %d bytes\n", LINE_MAX_LEN);
			return EXIT_USAGE;
		}
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		const char *s = skip_blanks(line);
		if (!*s || *s == '#')
			continue;
		int rc = run(c, s, o->json, false);
		if (rc == EXIT_NO_DAEMON)
			return rc;
		if (rc && !status)
			status = rc;
		if (rc && !o->keep_going)
			break;
	}
	return status;
}

int main(int argc, char **argv)
{
	static struct opts o = {.timeout_s = 10};
	struct conn c = {.fd = -1};
	int status = 0;

	o.dir = getenv("ROOMD_DATA");
	if ((status = parse_opts(argc, argv, &o)) >= 0)
		return status;
	status = 0;
	signal(SIGPIPE, SIG_IGN);
	c.timeout_ms = (int)(o.timeout_s * 1000);
	if (conn_open(&c, o.sock) < 0)
		return EXIT_NO_DAEMON;
	if (o.room) {
		char use[LINE_MAX_LEN + 1];
		snprintf(use, sizeof(use), "use %s", o.room);
		status = run(&c, use, false, true);
	}
	if (!status)
		status = optind < argc ? run_words(&c, argc - optind, argv + optind, o.json)
		                       : run_stdin(&c, &o);
	close(c.fd);
	return status;
}
