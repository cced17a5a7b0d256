/*
 * test_airserv.c - meshair's channel server (src/sim/airserv.c, airctl.c)
 * in-process on the event loop: real sockets on 127.0.0.1, ports picked by
 * the kernel.  Named radios and their ports, a second client refused, a
 * KISS command answered, a frame from one radio to the other, the control
 * table (help lists each command once), `radio X disconnect', an answer
 * that still reaches a client that has shut its side, an over-long line,
 * `quit', the summary in the trace, a non-loopback control port refused.
 * Waits are generous real-time bounds (5 s), never the measure.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "harness.h"
#include "proto/kiss.h"
#include "sim/airserv.h"
#include "sys/loop.h"
#include "util/err.h"
#include "util/log.h"

#define WAIT_MS 5000

static struct loop *lp;
static int quits;

static void on_quit(void *ctx)
{
	(void)ctx;
	quits++;
}

/* One round of the loop without blocking, then a millisecond's sleep. */
static void step(void)
{
	event_base_loop(loop_base(lp), EVLOOP_NONBLOCK);
	struct timespec ts = {0, 1000000};
	nanosleep(&ts, NULL);
}

static int dial(unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(0x7F000001);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static void say(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
		if (k <= 0) {
			step();
			continue;
		}
		s += k;
		n -= (size_t)k;
	}
}

/* Reads (running the loop) until out holds `until' bytes, a '\n' if until is
 * 0, or EOF: the bytes read, -1 on EOF with nothing read, -2 on timeout. */
static int hear(int fd, char *out, size_t cap, size_t until)
{
	size_t n = 0;
	for (int t = 0; t < WAIT_MS; t++) {
		ssize_t k = recv(fd, out + n, cap - 1 - n, 0);
		if (k == 0)
			return n ? (int)n : -1;
		if (k > 0) {
			n += (size_t)k;
			out[n] = 0;
			if ((until && n >= until) || (!until && memchr(out, '\n', n)) ||
			    n + 1 >= cap)
				return (int)n;
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return n ? (int)n : -1;
		step();
	}
	return -2;
}

/* A control command and its one-line answer. */
static const char *ask(int ctl, const char *cmd)
{
	static char ans[65536];
	say(ctl, cmd);
	if (hear(ctl, ans, sizeof(ans), 0) < 0)
		return "";
	return ans;
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* The port of radio name in a `radios' answer. */
static unsigned port_of(const char *radios, const char *name)
{
	char key[64];
	snprintf(key, sizeof(key), "{\"name\":\"%s\",", name);
	const char *p = strstr(radios, key);
	p = p ? strstr(p, "\"port\":") : NULL;
	return p ? (unsigned)atoi(p + 7) : 0;
}

static struct airserv *open_server(struct topo *t, const char *ctl_host, const char *trace, int *rc)
{
	static const char text[] = "mode full\nradio A 0\nradio B 0\n";
	struct airserv_cfg cfg = {.listen_host = "127.0.0.1",
	                          .ctl_host = ctl_host,
	                          .trace = trace,
	                          .seed = 1,
	                          .on_quit = on_quit};
	struct airserv *s = NULL;
	int line;
	char err[128];

	chan_config_default(&cfg.chan);
	cfg.chan.csma = CHAN_CSMA_HOST; /* no TXDELAY, persistence 255: at once */
	CHECK_EQ(topo_parse(t, text, sizeof(text) - 1, &line, err, sizeof(err)), ERR_OK);
	*rc = airserv_open(&s, loop_base(lp), &cfg, t);
	return s;
}

static void test_radios(int ctl, unsigned *pa, unsigned *pb)
{
	const char *ans = ask(ctl, "help\n");
	CHECK(strncmp(ans, "{\"ok\":true,\"commands\":[", 23) == 0);
	CHECK_EQ(count(ans, "\"radio "), 1); /* "radio" once in the table (issue 15) */
	CHECK_EQ(count(ans, "\"radios\""), 1);
	CHECK_EQ(count(ans, "\"quit\""), 1);
	ans = ask(ctl, "radios\n");
	*pa = port_of(ans, "A");
	*pb = port_of(ans, "B");
	CHECK(*pa > 0 && *pb > 0 && *pa != *pb);
	CHECK_EQ(count(ans, "\"connected\":false"), 2);
	ans = ask(ctl, "bogus\n");
	CHECK_STR(ans, "{\"ok\":false,\"error\":\"unknown command (try help)\"}\n");
	ans = ask(ctl, "radio Q up\n");
	CHECK_STR(ans, "{\"ok\":false,\"error\":\"no such radio: Q\"}\n");
}

static void test_air(int ctl, unsigned pa, unsigned pb)
{
	static const uint8_t ping[] = {KISS_FEND, KISS_SETHARDWARE, KISS_HW_PING, KISS_FEND};
	static const uint8_t frame[] = {KISS_FEND, KISS_DATA, 0x11, 0x22, 0x33, KISS_FEND};
	char got[256];
	int a = dial(pa), b = dial(pb);

	CHECK(a >= 0 && b >= 0);
	/* both accepted (the listeners may come after the control socket in a round) */
	int tries = 0;
	while (strstr(ask(ctl, "radios\n"), "\"connected\":false") && tries < WAIT_MS)
		tries++, step();
	CHECK(tries < WAIT_MS);
	int a2 = dial(pa); /* a second client of A is refused: EOF */
	CHECK_EQ(hear(a2, got, sizeof(got), 1), -1);
	close(a2);

	CHECK_EQ(send(a, ping, sizeof(ping), 0), (ssize_t)sizeof(ping));
	CHECK_EQ(hear(a, got, sizeof(got), 4), 4);
	CHECK_MEM(got, "\xC0\x06\x97\xC0", 4); /* Ping -> 0x97 */

	/* A transmits, B hears the frame and then RxMeta; A gets TxDone */
	CHECK_EQ(send(a, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	CHECK(hear(b, got, sizeof(got), sizeof(frame)) >= (int)sizeof(frame));
	CHECK_MEM(got, frame, sizeof(frame));
	CHECK_EQ(hear(a, got, sizeof(got), 5), 5);
	CHECK_MEM(got, "\xC0\x06\xF8\x01\xC0", 5);

	/* disconnect: the answer first, then B's connection closes */
	CHECK_STR(ask(ctl, "radio B disconnect\n"), "{\"ok\":true}\n");
	int n;
	while ((n = hear(b, got, sizeof(got), 1)) > 0) /* RxMeta may still come first */
		;
	CHECK_EQ(n, -1);
	CHECK_STR(ask(ctl, "radio B disconnect\n"),
	          "{\"ok\":false,\"error\":\"radio not connected\"}\n");
	close(b);
	close(a);
}

static void test_ctl_edges(unsigned ctl_port)
{
	char got[65536];
	int c = dial(ctl_port);

	/* an answer still reaches a client that shut its side after asking */
	say(c, "stats\n");
	shutdown(c, SHUT_WR);
	CHECK(hear(c, got, sizeof(got), 0) > 0);
	CHECK(strncmp(got, "{\"ok\":true,\"time_ms\":", 21) == 0);
	CHECK(strstr(got, "\"transmissions\":1,") != NULL);
	close(c);

	c = dial(ctl_port);
	char line[700];
	memset(line, 'x', sizeof(line) - 2);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = 0;
	CHECK_STR(ask(c, line), "{\"ok\":false,\"error\":\"line too long\"}\n");
	CHECK(strncmp(ask(c, "radios\n"), "{\"ok\":true,\"radios\":[", 21) == 0); /* served on */
	CHECK_STR(ask(c, "quit\n"), "{\"ok\":true}\n");
	CHECK_EQ(quits, 1);
	close(c);
}

static void test_server(void)
{
	char trace[] = "/tmp/test_airserv_XXXXXX";
	int tfd = mkstemp(trace);
	struct topo t;
	int rc;
	unsigned pa = 0, pb = 0, anon, ctl_port;

	CHECK(tfd >= 0);
	close(tfd);
	struct airserv *s = open_server(&t, "127.0.0.1", trace, &rc);
	CHECK_EQ(rc, ERR_OK);
	airserv_ports(s, &anon, &ctl_port);
	CHECK(anon > 0 && ctl_port > 0);
	int ctl = dial(ctl_port);
	CHECK(ctl >= 0);
	test_radios(ctl, &pa, &pb);
	test_air(ctl, pa, pb);
	close(ctl);
	test_ctl_edges(ctl_port);
	airserv_free(s);
	topo_free(&t);

	/* the trace: the transmission, the summary of `stats', the one at the end */
	FILE *f = fopen(trace, "r");
	char l[4096];
	unsigned tx = 0, sum = 0;
	while (f && fgets(l, sizeof(l), f)) {
		tx += strncmp(l, "{\"event\":\"tx\",", 14) == 0;
		sum += strncmp(l, "{\"event\":\"summary\",", 19) == 0;
	}
	if (f)
		fclose(f);
	CHECK_EQ(tx, 1);
	CHECK_EQ(sum, 2);
	unlink(trace);

	/* a control port must be a loopback address: a usage error */
	s = open_server(&t, "0.0.0.0", NULL, &rc);
	CHECK_EQ(rc, ERR_PERM);
	airserv_free(s);
	topo_free(&t);
}

int main(void)
{
	log_set_level(LOG_WARN);
	CHECK_EQ(loop_open(&lp), ERR_OK);
	test_server();
	loop_close(lp);
	return harness_done("test_airserv");
}
