/*
 * test_radio.c - the radio (src/radio, PROTOCOL.md §10.2) against a fake
 * kiss_modem, over both transports: a loopback TCP listener for "tcp:" and a
 * pseudo-terminal for "serial:" (the test plays the modem on the master side;
 * the radio opens a symlink to the slave, which the test re-points when the
 * "board" comes back, like a udev /dev/serial/by-id link).
 *
 * One poll() loop drives the radio and the fake.  The radio's clock is the
 * monotonic clock plus a skew the test advances to fire timers (backoff,
 * TxDone timeout, keepalive); every wait is a bounded loop on a condition,
 * never an assertion on elapsed time.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "mesh/mesh.h"
#include "proto/kiss.h"
#include "radio/radio.h"
#include "util/err.h"
#include "util/log.h"
#include "util/rng.h"

enum { FAKE_TCP, FAKE_PTY };

/* ---- the fake modem --------------------------------------------------- */

struct fake {
	int kind;
	int lfd; /* tcp listener */
	uint16_t port;
	int fd;       /* tcp connection or pty master; -1 */
	int slave_fd; /* pty: held so the master never sees a hang-up */
	char dir[64], link[96];
	int conns;
	struct kiss_dec dec;
	uint8_t raw[65536]; /* bytes received on the current connection (capped) */
	size_t raw_len;
	/* behaviour */
	int mute;               /* answer nothing */
	int no_pong;            /* do not answer Ping */
	int txdone;             /* answer Data with: 0 nothing, 1 F8 01, 2 F8 00 */
	int busy_next;          /* answer the next N Data frames with F1 07 */
	int chan_clear;         /* IsChannelBusy answers 00 (else 01) */
	int no_busy_query;      /* IsChannelBusy answers F1 04 (an older modem) */
	int paused;             /* stop reading (the radio's writes back up) */
	const char *boot_noise; /* written before the first answer of a connection */
	int noise_sent;
	uint8_t radio[10]; /* what SetRadio set (freq, bw, sf, cr) */
	/* counters, all connections */
	unsigned pings, datas, set_radios, get_radios, frames, bad_frames;
	unsigned pings_at_last_data;
	uint8_t last_data[300];
	size_t last_data_len;
	uint8_t data_tags[64]; /* last byte of each Data frame, in order (all connections) */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void fake_write(struct fake *f, const uint8_t *p, size_t n)
{
	size_t off = 0;
	for (int spins = 0; off < n && f->fd >= 0 && spins < 500;) {
		ssize_t w = f->kind == FAKE_TCP ? send(f->fd, p + off, n - off, MSG_NOSIGNAL)
		                                : write(f->fd, p + off, n - off);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd pf = {f->fd, POLLOUT, 0};
			poll(&pf, 1, 10);
			spins++;
			continue;
		}
		break;
	}
}

static void fake_send(struct fake *f, uint8_t type, const uint8_t *d, size_t n)
{
	uint8_t enc[2 * 600 + 3];
	int len = kiss_encode(type, d, n, enc, sizeof(enc));
	if (len > 0)
		fake_write(f, enc, (size_t)len);
}

static void fake_hw(struct fake *f, const uint8_t *d, size_t n)
{
	fake_send(f, KISS_SETHARDWARE, d, n);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void fake_on_frame(void *ctx, uint8_t type, const uint8_t *d, size_t n)
{
	struct fake *f = ctx;

	f->frames++;
	if (type == KISS_DATA) {
		if (f->datas < sizeof(f->data_tags) && n)
			f->data_tags[f->datas] = d[n - 1];
		f->datas++;
		f->pings_at_last_data = f->pings;
		f->last_data_len = n < sizeof(f->last_data) ? n : sizeof(f->last_data);
		memcpy(f->last_data, d, f->last_data_len);
	} else if (type == KISS_SETHARDWARE && n >= 1) {
		if (d[0] == KISS_HW_PING)
			f->pings++;
		if (d[0] == KISS_HW_GET_RADIO)
			f->get_radios++;
		if (d[0] == KISS_HW_SET_RADIO && n == 11) {
			f->set_radios++;
			memcpy(f->radio, d + 1, 10);
		}
	} else if (type > KISS_SETHARDWARE) {
		f->bad_frames++;
	}
	if (f->mute)
		return;
	if (f->boot_noise && !f->noise_sent) {
		fake_write(f, (const uint8_t *)f->boot_noise, strlen(f->boot_noise));
		f->noise_sent = 1;
	}
	if (type == KISS_DATA) {
		if (f->busy_next > 0) {
			f->busy_next--;
			fake_hw(f, (const uint8_t[]){0xF1, 0x07}, 2);
		} else if (f->txdone) {
			fake_hw(f, (const uint8_t[]){0xF8, f->txdone == 1 ? 1 : 0}, 2);
		}
		return;
	}
	if (type != KISS_SETHARDWARE || n < 1)
		return;
	uint8_t a[16];
	switch (d[0]) {
	case KISS_HW_SET_RADIO:
	case KISS_HW_SET_TX_POWER: fake_hw(f, (const uint8_t[]){0xF0}, 1); break;
	case KISS_HW_SET_SIGNAL_REPORT: fake_hw(f, (const uint8_t[]){0x9A, 0x01}, 2); break;
	case KISS_HW_GET_VERSION: fake_hw(f, (const uint8_t[]){0x91, 0x01, 0x00}, 3); break;
	case KISS_HW_PING:
		if (!f->no_pong)
			fake_hw(f, (const uint8_t[]){0x97}, 1);
		break;
	case KISS_HW_GET_RADIO:
		a[0] = 0x8B;
		memcpy(a + 1, f->radio, 10);
		fake_hw(f, a, 11);
		break;
	case KISS_HW_GET_STATS:
		a[0] = 0x92;
		put_le32(a + 1, 10);
		put_le32(a + 5, 20);
		put_le32(a + 9, 3);
		fake_hw(f, a, 13);
		break;
	case KISS_HW_GET_NOISE_FLOOR:
		fake_hw(f, (const uint8_t[]){0x90, 0x92, 0xFF}, 3); /* -110 */
		break;
	case KISS_HW_IS_CHANNEL_BUSY:
		if (f->no_busy_query)
			fake_hw(f, (const uint8_t[]){0xF1, 0x04}, 2);
		else
			fake_hw(f, (const uint8_t[]){0x8E, f->chan_clear ? 0x00 : 0x01}, 2);
		break;
	case KISS_HW_GET_AIRTIME:
		a[0] = 0x8F;
		put_le32(a + 1, 700u + (n > 1 ? d[1] : 0));
		fake_hw(f, a, 5);
		break;
	case KISS_HW_GET_TX_POWER: fake_hw(f, (const uint8_t[]){0x8C, 0x16}, 2); break;
	case KISS_HW_GET_MCU_TEMP: fake_hw(f, (const uint8_t[]){0xF1, 0x03}, 2); break;
	case KISS_HW_GET_DEVICE_NAME:
		fake_hw(f, (const uint8_t[]){0x96, 'f', 'a', 'k', 'e', '"'}, 6);
		break;
	default: fake_hw(f, (const uint8_t[]){0xF1, 0x05}, 2); break;
	}
}

static void fake_conn_reset(struct fake *f)
{
	f->raw_len = 0;
	f->noise_sent = 0;
	f->conns++;
	kiss_dec_init(&f->dec, fake_on_frame, f);
}

static int tcp_listen(uint16_t port, uint16_t *out)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons(port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		perror("listen");
		exit(2);
	}
	*out = ntohs(sa.sin_port);
	return fd;
}

static void fake_pty_new(struct fake *f)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0) {
		perror("posix_openpt");
		exit(2);
	}
	const char *s = ptsname(m);
	fcntl(m, F_SETFL, O_NONBLOCK);
	f->slave_fd = open(s, O_RDWR | O_NOCTTY);
	char tmp[128];
	snprintf(tmp, sizeof(tmp), "%s.new", f->link);
	unlink(tmp);
	if (f->slave_fd < 0 || symlink(s, tmp) < 0 || rename(tmp, f->link) < 0) {
		perror("pty link");
		exit(2);
	}
	f->fd = m;
	fake_conn_reset(f);
}

static void fake_init(struct fake *f, int kind)
{
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->fd = f->lfd = f->slave_fd = -1;
	f->txdone = 1;
	if (kind == FAKE_TCP) {
		f->lfd = tcp_listen(0, &f->port);
	} else {
		snprintf(f->dir, sizeof(f->dir), "/tmp/test_radio.XXXXXX");
		if (!mkdtemp(f->dir)) {
			perror("mkdtemp");
			exit(2);
		}
		snprintf(f->link, sizeof(f->link), "%s/tty", f->dir);
		fake_pty_new(f);
	}
}

static void fake_spec(const struct fake *f, char *spec, size_t cap)
{
	if (f->kind == FAKE_TCP)
		snprintf(spec, cap, "tcp:127.0.0.1:%u", f->port);
	else
		snprintf(spec, cap, "serial:%s", f->link);
}

/* The modem goes away: the socket closes, or the board re-enumerates. */
static void fake_drop(struct fake *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->kind == FAKE_PTY) {
		close(f->slave_fd);
		f->slave_fd = -1;
		fake_pty_new(f);
	}
}

static void fake_free(struct fake *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->lfd >= 0)
		close(f->lfd);
	if (f->slave_fd >= 0)
		close(f->slave_fd);
	if (f->kind == FAKE_PTY) {
		unlink(f->link);
		rmdir(f->dir);
	}
}

static void fake_accept(struct fake *f)
{
	int fd = accept4(f->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	f->fd = fd;
	fake_conn_reset(f);
}

static void fake_read(struct fake *f)
{
	uint8_t buf[4096];
	for (int i = 0; i < 64 && f->fd >= 0 && !f->paused; i++) {
		ssize_t n = read(f->fd, buf, sizeof(buf));
		if (n > 0) {
			size_t room = sizeof(f->raw) - f->raw_len;
			size_t k = (size_t)n < room ? (size_t)n : room;
			memcpy(f->raw + f->raw_len, buf, k);
			f->raw_len += k;
			kiss_dec_feed(&f->dec, buf, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (f->kind == FAKE_TCP) {
			/* the radio hung up: wait for its next connection */
			close(f->fd);
			f->fd = -1;
		}
		return;
	}
}

/* ---- the program around the radio ---------------------------------------- */

struct rxrec {
	uint8_t d[RADIO_MAX_FRAME];
	size_t len;
	int snr, rssi;
};

struct t {
	struct fake f;
	struct radio *r;
	uint64_t skew, last_now;
	int ups, downs, tx_ok, tx_fail;
	int chain;         /* frames still to send from tx_done */
	struct mesh *mesh; /* if set, tx_done goes to it */
	unsigned nrx;
	struct rxrec rx[64];
};

static uint64_t vnow(struct t *c)
{
	return mono_ms() + c->skew;
}

static void ev_rx(void *ctx, const uint8_t *frame, size_t len, int snr_x4, int rssi)
{
	struct t *c = ctx;
	if (c->nrx < 64) {
		memcpy(c->rx[c->nrx].d, frame, len);
		c->rx[c->nrx].len = len;
		c->rx[c->nrx].snr = snr_x4;
		c->rx[c->nrx].rssi = rssi;
	}
	c->nrx++;
}

static void ev_tx_done(void *ctx, int ok)
{
	struct t *c = ctx;
	if (ok)
		c->tx_ok++;
	else
		c->tx_fail++;
	if (c->mesh)
		mesh_on_tx_done(c->mesh, ok, c->last_now);
	if (c->chain > 0) {
		uint8_t fr[3] = {0x77, (uint8_t)c->chain, 0x77};
		if (radio_send(c->r, fr, sizeof(fr)) == ERR_OK)
			c->chain--;
	}
}

static void ev_link(void *ctx, int up)
{
	struct t *c = ctx;
	if (up)
		c->ups++;
	else
		c->downs++;
}

static void pump(struct t *c)
{
	struct pollfd pf[4];
	int rn = radio_pollfds(c->r, pf, 2);
	int n = rn > 0 ? rn : 0, li = -1, fi = -1;

	if (c->f.kind == FAKE_TCP && c->f.lfd >= 0 && c->f.fd < 0) {
		li = n;
		pf[n++] = (struct pollfd){c->f.lfd, POLLIN, 0};
	}
	if (c->f.fd >= 0 && !c->f.paused) {
		fi = n;
		pf[n++] = (struct pollfd){c->f.fd, POLLIN, 0};
	}
	uint64_t now = vnow(c), dl = radio_next_deadline(c->r);
	int timeout = dl <= now ? 0 : dl - now > 10 ? 10 : (int)(dl - now);
	poll(pf, (nfds_t)n, timeout);
	now = vnow(c);
	c->last_now = now;
	radio_handle(c->r, pf, rn > 0 ? rn : 0, now);
	radio_tick(c->r, now);
	if (li >= 0 && (pf[li].revents & POLLIN))
		fake_accept(&c->f);
	if (fi >= 0 && pf[fi].revents)
		fake_read(&c->f);
}

/* Pumps until cond holds, at most ~2000 rounds of at most 10 ms. */
#define WAIT(c, cond)                                                                              \
	do {                                                                                       \
		for (int w_ = 0; w_ < 2000 && !(cond); w_++)                                       \
			pump(c);                                                                   \
	} while (0)

static struct radio_cfg test_cfg(void)
{
	struct radio_cfg cfg = RADIO_CFG_DEFAULT;
	cfg.persistence = 0xC0; /* both escapes in the settings */
	cfg.slottime_10ms = 0xDB;
	return cfg;
}

/* What the radio must send on every connection with test_cfg(). */
static const uint8_t settings_bytes[] = {
    0xC0, 0x01, 0x00, 0xC0,       /* TXDELAY 0 */
    0xC0, 0x02, 0xDB, 0xDC, 0xC0, /* Persistence 0xC0 */
    0xC0, 0x03, 0xDB, 0xDD, 0xC0, /* SlotTime 0xDB */
    0xC0, 0x06, 0x09,             /* SetRadio */
    0x50, 0x51, 0xD5, 0x33,       /* 869618000 Hz */
    0x24, 0xF4, 0x00, 0x00,       /* 62500 Hz */
    0x08, 0x05, 0xC0,             /* SF8, CR 4/5 */
    0xC0, 0x06, 0x0A, 0x16, 0xC0, /* SetTxPower 22 dBm */
    0xC0, 0x06, 0x19, 0x01, 0xC0, /* SetSignalReport on */
    0xC0, 0x06, 0x11, 0xC0,       /* GetVersion */
};

static void setup(struct t *c, int kind)
{
	char spec[160];
	struct radio_cfg cfg = test_cfg();
	struct radio_events ev = {ev_rx, ev_tx_done, ev_link, c};

	memset(c, 0, sizeof(*c));
	fake_init(&c->f, kind);
	fake_spec(&c->f, spec, sizeof(spec));
	int rc = radio_open(&c->r, spec, &cfg, &ev, vnow(c));
	CHECK_EQ(rc, ERR_OK);
	if (rc != ERR_OK)
		exit(1);
	/* nothing happens inside radio_open */
	CHECK_EQ(c->ups, 0);
	CHECK_EQ(radio_next_deadline(c->r) <= vnow(c), 1);
}

static void teardown(struct t *c)
{
	radio_close(c->r);
	fake_free(&c->f);
}

static void fake_rx(struct t *c, const uint8_t *frame, size_t len, int meta, int8_t snr,
                    int8_t rssi)
{
	uint8_t buf[3 * 600];
	int n = kiss_encode(KISS_DATA, frame, len, buf, sizeof(buf));
	if (meta) {
		uint8_t m[3] = {0xF9, (uint8_t)snr, (uint8_t)rssi};
		n += kiss_encode(KISS_SETHARDWARE, m, 3, buf + n, sizeof(buf) - (size_t)n);
	}
	fake_write(&c->f, buf, (size_t)n);
}

/* ---- tests ------------------------------------------------------------- */

static void test_session(int kind)
{
	struct t c;
	const struct radio_stats *st;

	setup(&c, kind);
	st = radio_stats(c.r);
	WAIT(&c, c.ups == 1);
	CHECK_EQ(c.ups, 1);
	CHECK(radio_link_up(c.r));
	CHECK(radio_ready(c.r));
	CHECK_EQ(c.f.raw_len, sizeof(settings_bytes));
	CHECK_MEM(c.f.raw, settings_bytes, sizeof(settings_bytes));
	CHECK_EQ(st->link_ups, 1);
	CHECK_EQ(st->reconnects, 0);
	CHECK(st->modem.known & RADIO_KNOWN_VERSION);
	CHECK_EQ(st->modem.version_major, 1);
	CHECK_EQ(st->modem.version_minor, 0);
	CHECK_EQ(st->modem.signal_report, 1);
	CHECK_EQ(radio_queries_pending(c.r), 0);
	CHECK_EQ(radio_channel_busy(c.r), -1);

	/* a Data frame goes out escaped; TxDone completes it */
	static const uint8_t fr[] = {0x11, 0xC0, 0x22, 0xDB, 0x33, 0xDC};
	static const uint8_t fr_enc[] = {0xC0, 0x00, 0x11, 0xDB, 0xDC, 0x22,
	                                 0xDB, 0xDD, 0x33, 0xDC, 0xC0};
	c.f.txdone = 0;
	size_t mark = c.f.raw_len;
	CHECK_EQ(radio_send(c.r, fr, sizeof(fr)), ERR_OK);
	CHECK(!radio_ready(c.r));
	CHECK_EQ(radio_send(c.r, fr, sizeof(fr)), ERR_AGAIN);
	WAIT(&c, c.f.datas == 1);
	CHECK_EQ(c.f.raw_len - mark, sizeof(fr_enc));
	CHECK_MEM(c.f.raw + mark, fr_enc, sizeof(fr_enc));
	CHECK_EQ(c.tx_ok + c.tx_fail, 0);
	fake_hw(&c.f, (const uint8_t[]){0xF8, 0x01}, 2);
	WAIT(&c, c.tx_ok == 1);
	CHECK_EQ(c.tx_ok, 1);
	CHECK_EQ(c.tx_fail, 0);
	CHECK(radio_ready(c.r));
	CHECK_EQ(st->tx_frames, 1);

	/* TxDone 00: failure */
	CHECK_EQ(radio_send(c.r, fr, 1), ERR_OK);
	WAIT(&c, c.f.datas == 2);
	fake_hw(&c.f, (const uint8_t[]){0xF8, 0x00}, 2);
	WAIT(&c, c.tx_fail == 1);
	CHECK_EQ(c.tx_fail, 1);
	CHECK_EQ(st->tx_failures, 1);

	/* TxBusy: the same frame again after a short delay */
	c.f.txdone = 1;
	c.f.busy_next = 1;
	CHECK_EQ(radio_send(c.r, fr, sizeof(fr)), ERR_OK);
	WAIT(&c, c.tx_ok == 2);
	CHECK_EQ(c.tx_ok, 2);
	CHECK_EQ(c.f.datas, 4);
	CHECK_EQ(c.f.last_data_len, sizeof(fr));
	CHECK_MEM(c.f.last_data, fr, sizeof(fr));
	CHECK_EQ(st->tx_busy, 1);
	CHECK_EQ(c.tx_fail, 1);

	/* sending again from tx_done works */
	c.chain = 2;
	CHECK_EQ(radio_send(c.r, fr, 2), ERR_OK);
	WAIT(&c, c.tx_ok == 5);
	CHECK_EQ(c.tx_ok, 5);
	CHECK_EQ(c.f.datas, 7);
	CHECK_EQ(c.f.last_data[1], 1);

	/* no TxDone: a failure once the timeout passes */
	c.f.txdone = 0;
	CHECK_EQ(radio_send(c.r, fr, sizeof(fr)), ERR_OK);
	WAIT(&c, c.f.datas == 8);
	CHECK_EQ(c.tx_fail, 1); /* nothing before the deadline */
	CHECK(radio_next_deadline(c.r) > c.last_now + 1000);
	c.skew += 60000;
	WAIT(&c, c.tx_fail == 2);
	CHECK_EQ(c.tx_fail, 2);
	CHECK_EQ(st->tx_timeouts, 1);
	CHECK(radio_ready(c.r));
	/* the skip also made a keepalive due: answered, the link stays */
	WAIT(&c, c.f.pings == 1 && radio_queries_pending(c.r) == 0);
	CHECK_EQ(c.f.pings, 1);
	CHECK_EQ(c.f.get_radios, 1);
	CHECK_EQ(c.downs, 0);
	CHECK_EQ(st->modem_resets, 0);
	/* a late TxDone with nothing in flight is counted, not credited */
	uint64_t unk = st->unknown_frames;
	fake_hw(&c.f, (const uint8_t[]){0xF8, 0x01}, 2);
	WAIT(&c, st->unknown_frames == unk + 1);
	CHECK_EQ(st->unknown_frames, unk + 1);
	CHECK_EQ(c.tx_ok, 5);

	/* RxMeta right after its Data frame attaches to it */
	static const uint8_t a[] = {0x01, 0xC0, 0x02}, b[] = {0x03}, c1[] = {0x04, 0x05},
	                     c2[] = {0x06};
	fake_rx(&c, a, sizeof(a), 1, -23, -97);
	WAIT(&c, c.nrx == 1);
	CHECK_EQ(c.nrx, 1);
	CHECK_EQ(c.rx[0].len, sizeof(a));
	CHECK_MEM(c.rx[0].d, a, sizeof(a));
	CHECK_EQ(c.rx[0].snr, -23);
	CHECK_EQ(c.rx[0].rssi, -97);
	CHECK_EQ(st->last_snr_x4, -23);
	CHECK_EQ(st->last_rssi_dbm, -97);
	/* without RxMeta: delivered anyway, metadata unknown */
	fake_rx(&c, b, sizeof(b), 0, 0, 0);
	WAIT(&c, c.nrx == 2);
	CHECK_EQ(c.nrx, 2);
	CHECK_EQ(c.rx[1].d[0], 0x03);
	CHECK_EQ(c.rx[1].snr, 0);
	CHECK_EQ(c.rx[1].rssi, 0);
	/* two Data frames, the second with RxMeta */
	fake_rx(&c, c1, sizeof(c1), 0, 0, 0);
	fake_rx(&c, c2, sizeof(c2), 1, 40, -60);
	WAIT(&c, c.nrx == 4);
	CHECK_EQ(c.nrx, 4);
	CHECK_EQ(c.rx[2].len, 2);
	CHECK_EQ(c.rx[2].snr, 0);
	CHECK_EQ(c.rx[3].d[0], 0x06);
	CHECK_EQ(c.rx[3].snr, 40);
	CHECK_EQ(c.rx[3].rssi, -60);
	CHECK_EQ(st->rx_frames, 4);
	CHECK_EQ(st->rx_with_meta, 2);

	/* junk of every kind: counted, dropped, the link stays */
	uint64_t unk0 = st->unknown_frames, esc0 = st->kiss_bad_escapes;
	static uint8_t junk[2048];
	size_t jn = 0;
	static uint8_t big[600];
	memset(big, 0x42, sizeof(big));
	jn += (size_t)kiss_encode(0x10, b, 1, junk + jn, sizeof(junk) - jn); /* port 1 */
	jn += (size_t)kiss_encode(0x07, b, 1, junk + jn, sizeof(junk) - jn); /* unknown cmd */
	jn += (size_t)kiss_encode(0xFF, b, 1, junk + jn, sizeof(junk) - jn); /* "return" */
	jn += (size_t)kiss_encode(0x06, (const uint8_t[]){0x81, 1, 2}, 3, junk + jn,
	                          sizeof(junk) - jn); /* answer to nothing */
	jn += (size_t)kiss_encode(0x06, (const uint8_t[]){0xF9, 1, 2}, 3, junk + jn,
	                          sizeof(junk) - jn); /* RxMeta without Data */
	jn += (size_t)kiss_encode(0x06, (const uint8_t[]){0x8B, 1}, 2, junk + jn,
	                          sizeof(junk) - jn); /* truncated answer */
	jn += (size_t)kiss_encode(0x06, NULL, 0, junk + jn, sizeof(junk) - jn);
	jn += (size_t)kiss_encode(0x06, (const uint8_t[]){0xEE}, 1, junk + jn,
	                          sizeof(junk) - jn);                            /* unknown code */
	jn += (size_t)kiss_encode(0x00, big, 300, junk + jn, sizeof(junk) - jn); /* > 255 */
	jn += (size_t)kiss_encode(0x00, NULL, 0, junk + jn, sizeof(junk) - jn);  /* empty */
	fake_write(&c.f, junk, jn);
	/* bad escape inside a Data frame, then an oversized frame */
	static const uint8_t esc[] = {0xC0, 0x00, 0x09, 0xDB, 0x41, 0x0A, 0xC0};
	fake_write(&c.f, esc, sizeof(esc));
	jn = (size_t)kiss_encode(0x00, big, sizeof(big), junk, sizeof(junk));
	fake_write(&c.f, junk, jn);
	fake_rx(&c, c2, sizeof(c2), 1, 8, -70);
	WAIT(&c, c.nrx == 6);
	CHECK_EQ(c.nrx, 6);
	CHECK_EQ(c.rx[4].len, 2); /* 09 0A: the bad escape dropped one byte */
	CHECK_EQ(c.rx[4].d[0], 0x09);
	CHECK_EQ(c.rx[4].d[1], 0x0A);
	CHECK_EQ(c.rx[5].snr, 8);
	CHECK_EQ(st->unknown_frames - unk0, 8);
	CHECK_EQ(st->rx_dropped, 2);
	CHECK_EQ(st->kiss_bad_escapes - esc0, 1);
	CHECK_EQ(st->kiss_oversized, 1);
	CHECK_EQ(c.downs, 0);
	CHECK(radio_link_up(c.r));

	/* seeded random garbage: no crash, and a resync afterwards */
	struct rng_seeded rs;
	struct rng rng;
	uint64_t seed = 0x5eed0000u + (uint64_t)kind;
	rng_seeded_init(&rs, &rng, seed);
	for (int round = 0; round < 20; round++) {
		uint8_t g[512];
		rng_fill(&rng, g, sizeof(g));
		for (size_t i = 0; i < sizeof(g); i++) {
			/* make the framing bytes and opcodes common */
			static const uint8_t hot[] = {0xC0, 0xDB, 0xDC, 0xDD, 0x00, 0x06,
			                              0xF8, 0xF9, 0xF1, 0x91, 0x8B};
			if (g[i] < 96)
				g[i] = hot[g[i] % sizeof(hot)];
		}
		fake_write(&c.f, g, sizeof(g));
		pump(&c);
	}
	unsigned before = c.nrx;
	static const uint8_t resync[] = {0xC0};
	fake_write(&c.f, resync, 1);
	fake_rx(&c, a, sizeof(a), 1, 1, -1);
	WAIT(&c, c.nrx > before && c.rx[(c.nrx - 1) % 64].rssi == -1);
	CHECK(c.nrx > before);
	if (c.nrx <= 64)
		CHECK_MEM(c.rx[c.nrx - 1].d, a, sizeof(a));
	CHECK(radio_link_up(c.r));
	CHECK_EQ(c.downs, 0);

	/* queries land in the stats */
	WAIT(&c, radio_queries_pending(c.r) == 0);
	uint64_t merr = st->modem_errors;
	CHECK_EQ(radio_query(c.r, KISS_HW_GET_STATS, NULL, 0), ERR_OK);
	CHECK_EQ(radio_query(c.r, KISS_HW_GET_MCU_TEMP, NULL, 0), ERR_OK);
	CHECK_EQ(radio_query(c.r, KISS_HW_GET_NOISE_FLOOR, NULL, 0), ERR_OK);
	CHECK_EQ(radio_query(c.r, KISS_HW_IS_CHANNEL_BUSY, NULL, 0), ERR_OK);
	CHECK_EQ(radio_query(c.r, KISS_HW_GET_AIRTIME, (const uint8_t[]){100}, 1), ERR_OK);
	CHECK_EQ(radio_query(c.r, KISS_HW_GET_DEVICE_NAME, NULL, 0), ERR_OK);
	CHECK_EQ(radio_query(c.r, KISS_HW_GET_TX_POWER, NULL, 0), ERR_OK);
	CHECK_EQ(radio_query(c.r, KISS_HW_GET_RADIO, NULL, 0), ERR_OK);
	CHECK_EQ(radio_queries_pending(c.r), 8);
	WAIT(&c, radio_queries_pending(c.r) == 0);
	CHECK_EQ(radio_queries_pending(c.r), 0);
	CHECK(st->modem.known & RADIO_KNOWN_STATS);
	CHECK_EQ(st->modem.rx_packets, 10);
	CHECK_EQ(st->modem.tx_packets, 20);
	CHECK_EQ(st->modem.rx_errors, 3);
	CHECK_EQ(st->modem.noise_floor_dbm, -110);
	CHECK_EQ(radio_channel_busy(c.r), 1);
	CHECK_EQ(st->modem.airtime_ms, 800);
	CHECK_EQ(st->modem.airtime_len, 100);
	CHECK_STR(st->modem.name, "fake\"");
	CHECK_EQ(st->modem.tx_power_dbm, 22);
	CHECK(!(st->modem.known & RADIO_KNOWN_MCU_TEMP));
	CHECK_EQ(st->modem_errors, merr + 1);
	CHECK_EQ(st->modem.radio.freq_hz, 869618000u);
	CHECK_EQ(st->modem.radio.bw_hz, 62500u);
	CHECK_EQ(st->modem.radio.sf, 8);
	CHECK_EQ(st->modem.radio.cr, 5);
	CHECK_EQ(st->modem_resets, 0);
	/* bad calls */
	uint8_t huge[RADIO_MAX_FRAME + 1] = {0};
	CHECK_EQ(radio_send(c.r, huge, 0), ERR_INVAL);
	CHECK_EQ(radio_send(c.r, huge, sizeof(huge)), ERR_TOO_BIG);
	CHECK_EQ(radio_query(c.r, KISS_HW_REBOOT, NULL, 0), ERR_INVAL);
	CHECK_EQ(radio_query(c.r, KISS_HW_SIGN_DATA, huge, 4), ERR_INVAL);
	CHECK_EQ(radio_query(c.r, KISS_HW_GET_AIRTIME, NULL, 0), ERR_INVAL);
	CHECK_EQ(radio_query(c.r, KISS_HW_GET_STATS, huge, 1), ERR_INVAL);
	CHECK_EQ(c.downs, 0);
	teardown(&c);
}

/* radio_sense until it has an answer (ERR_AGAIN meanwhile), or a timeout. */
static int sense_answer(struct t *c, unsigned *asks)
{
	int rc = ERR_AGAIN;
	*asks = 0;
	for (int i = 0; i < 2000 && rc == ERR_AGAIN; i++) {
		rc = radio_sense(c->r, vnow(c));
		(*asks)++;
		if (rc == ERR_AGAIN)
			pump(c);
	}
	return rc;
}

/*
 * Listen before talk for the host (the room's pushes, issue 12.2): each
 * radio_sense asks the modem once and says ERR_AGAIN until the answer is
 * in; a modem that does not know IsChannelBusy (an error answer) or does
 * not answer in RADIO_SENSE_WAIT_MS is taken as a clear channel, and after
 * RADIO_SENSE_GIVE_UP such misses it is not asked again.
 */
static void test_sense(int kind)
{
	struct t c;
	unsigned asks;
	setup(&c, kind);
	WAIT(&c, c.ups == 1 && radio_queries_pending(c.r) == 0);
	const struct radio_stats *st = radio_stats(c.r);
	unsigned frames = c.f.frames;
	CHECK_EQ(sense_answer(&c, &asks), 1);
	CHECK(asks >= 2); /* never answered from an old answer */
	CHECK_EQ(c.f.frames, frames + 1);
	c.f.chan_clear = 1;
	CHECK_EQ(sense_answer(&c, &asks), 0);
	CHECK_EQ(c.f.frames, frames + 2);
	c.f.chan_clear = 0;
	CHECK_EQ(sense_answer(&c, &asks), 1);
	/* a mute modem: clear after the wait, counted */
	c.f.mute = 1;
	uint64_t t0 = vnow(&c);
	CHECK_EQ(radio_sense(c.r, t0), ERR_AGAIN);
	CHECK_EQ(radio_sense(c.r, t0 + RADIO_SENSE_WAIT_MS - 1), ERR_AGAIN);
	CHECK_EQ(radio_sense(c.r, t0 + RADIO_SENSE_WAIT_MS), 0);
	CHECK_EQ(st->sense_misses, 1);
	c.f.mute = 0;
	WAIT(&c, radio_queries_pending(c.r) == 0);
	CHECK_EQ(sense_answer(&c, &asks), 1); /* an answer resets the misses */
	/* an older modem answers with an error: clear at once, then not asked */
	c.f.no_busy_query = 1;
	for (int i = 0; i < RADIO_SENSE_GIVE_UP; i++)
		CHECK_EQ(sense_answer(&c, &asks), 0);
	CHECK_EQ(st->sense_misses, 1 + RADIO_SENSE_GIVE_UP);
	frames = c.f.frames;
	CHECK_EQ(radio_sense(c.r, vnow(&c)), 0);
	for (int i = 0; i < 20; i++)
		pump(&c);
	CHECK_EQ(c.f.frames, frames);
	CHECK(radio_link_up(c.r));
	teardown(&c);
}

/*
 * The connection drops in the middle of a received frame with a frame in
 * flight; then the modem reboots (with and without a link drop), then it
 * hangs.
 */
static void test_reconnect(int kind)
{
	struct t c;
	const struct radio_stats *st;
	static const uint8_t fr[] = {0xAB, 0xC0, 0xCD};
	static const uint8_t fr_enc[] = {0xC0, 0x00, 0xAB, 0xDB, 0xDC, 0xCD, 0xC0};

	setup(&c, kind);
	st = radio_stats(c.r);
	WAIT(&c, c.ups == 1);
	CHECK_EQ(c.ups, 1);
	c.f.txdone = 0;
	CHECK_EQ(radio_send(c.r, fr, sizeof(fr)), ERR_OK);
	WAIT(&c, c.f.datas == 1);
	CHECK_EQ(c.f.datas, 1);
	/* half a frame, then the modem is gone */
	static const uint8_t half[] = {0xC0, 0x00, 0xAA, 0xBB};
	fake_write(&c.f, half, sizeof(half));
	int conns = c.f.conns;
	fake_drop(&c.f);
	WAIT(&c, c.downs == 1);
	CHECK_EQ(c.downs, 1);
	CHECK(!radio_link_up(c.r));
	CHECK(!radio_ready(c.r));
	CHECK_EQ(radio_send(c.r, fr, sizeof(fr)), ERR_AGAIN);
	CHECK_EQ(radio_pollfds(c.r, (struct pollfd[1]){{0}}, 1), 0);
	CHECK_EQ(c.nrx, 0);
	CHECK_EQ(c.tx_ok + c.tx_fail, 0);
	/* the first retry is 250 ms after the drop */
	CHECK_EQ(radio_next_deadline(c.r) - c.last_now, 250);
	c.f.txdone = 1;
	c.skew += 300;
	WAIT(&c, c.tx_ok == 1);
	CHECK_EQ(c.ups, 2);
	CHECK_EQ(c.tx_ok, 1);
	CHECK_EQ(c.tx_fail, 0);
	CHECK_EQ(c.nrx, 0); /* the half frame never surfaced */
	if (kind == FAKE_TCP)
		CHECK_EQ(c.f.conns, conns + 1);
	/* on the new connection: the settings again, then the frame again */
	CHECK_EQ(c.f.raw_len, sizeof(settings_bytes) + sizeof(fr_enc));
	CHECK_MEM(c.f.raw, settings_bytes, sizeof(settings_bytes));
	CHECK_MEM(c.f.raw + sizeof(settings_bytes), fr_enc, sizeof(fr_enc));
	CHECK_EQ(st->reconnects, 1);
	CHECK_EQ(st->tx_resent, 1);
	CHECK_EQ(st->link_downs, 1);
	CHECK_EQ(c.f.set_radios, 2);

	/* a modem reboot that drops the link (USB re-enumeration), with boot noise */
	static const char noise[] = "ESP-ROM:esp32s3-20210327\r\n";
	c.f.boot_noise = noise;
	fake_drop(&c.f);
	WAIT(&c, c.downs == 2);
	CHECK_EQ(c.downs, 2);
	c.skew += 300;
	WAIT(&c, c.ups == 3);
	CHECK_EQ(c.ups, 3);
	CHECK_EQ(c.f.set_radios, 3);
	CHECK_EQ(c.f.raw_len, sizeof(settings_bytes));
	CHECK_MEM(c.f.raw, settings_bytes, sizeof(settings_bytes));
	CHECK_EQ(st->kiss_noise_bytes, sizeof(noise) - 1);
	c.f.boot_noise = NULL;
	CHECK_EQ(c.tx_ok, 1);

	/* a reboot behind an open serial port: GetRadio reads zeros */
	memset(c.f.radio, 0, sizeof(c.f.radio));
	c.skew += 31000;
	WAIT(&c, c.f.set_radios == 4 && radio_queries_pending(c.r) == 0);
	CHECK_EQ(c.f.set_radios, 4);
	CHECK_EQ(st->modem_resets, 1);
	CHECK_EQ(c.f.radio[0], 0x50);
	CHECK_EQ(c.f.radio[8], 8);
	CHECK_EQ(c.downs, 2);
	CHECK(radio_link_up(c.r));

	/* a hung modem: no answer to the keepalive, the link is recycled */
	c.f.mute = 1;
	unsigned pings = c.f.pings;
	c.skew += 31000;
	WAIT(&c, c.f.pings == pings + 1);
	CHECK_EQ(c.f.pings, pings + 1);
	CHECK_EQ(c.downs, 2);
	c.skew += 11000;
	WAIT(&c, c.downs == 3);
	CHECK_EQ(c.downs, 3);
	c.f.mute = 0;
	c.skew += 300;
	WAIT(&c, c.ups == 4);
	CHECK_EQ(c.ups, 4);
	CHECK_EQ(c.f.set_radios, 5);
	CHECK_EQ(st->reconnects, 3);
	CHECK_EQ(c.tx_ok + c.tx_fail, 1);
	teardown(&c);
}

/* Exponential backoff while the server is away, reset once it is back. */
static void test_backoff(void)
{
	struct t c;
	const struct radio_stats *st;
	static const uint64_t want[] = {250, 500, 1000, 2000, 4000, 8000, 10000, 10000};

	setup(&c, FAKE_TCP);
	st = radio_stats(c.r);
	WAIT(&c, c.ups == 1);
	close(c.f.lfd);
	c.f.lfd = -1;
	fake_drop(&c.f);
	WAIT(&c, c.downs == 1);
	CHECK_EQ(c.downs, 1);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint64_t dl = radio_next_deadline(c.r);
		CHECK_EQ(dl - c.last_now, want[i]);
		uint64_t now = vnow(&c);
		if (dl > now)
			c.skew += dl - now;
		uint64_t fails = st->connect_failures;
		WAIT(&c, st->connect_failures == fails + 1);
		CHECK_EQ(st->connect_failures, fails + 1);
	}
	CHECK_EQ(c.ups, 1);
	/* the server is back on the same port */
	c.f.lfd = tcp_listen(c.f.port, &c.f.port);
	uint64_t dl = radio_next_deadline(c.r), now = vnow(&c);
	if (dl > now)
		c.skew += dl - now;
	WAIT(&c, c.ups == 2);
	CHECK_EQ(c.ups, 2);
	fake_drop(&c.f);
	WAIT(&c, c.downs == 2);
	CHECK_EQ(radio_next_deadline(c.r) - c.last_now, 250);
	teardown(&c);
}

/* The serial side backs up: writes are queued, nothing is lost or reordered. */
static void test_partial_writes(void)
{
	struct t c;
	static const uint8_t fr[] = {0xDB, 0xDB, 0xC0, 0x01};

	setup(&c, FAKE_PTY);
	WAIT(&c, c.ups == 1);
	c.f.paused = 1;
	c.f.no_pong = 1;
	unsigned pings = c.f.pings, sent = 0;
	int rc = ERR_OK;
	while (sent < 1000000 && (rc = radio_query(c.r, KISS_HW_PING, NULL, 0)) == ERR_OK)
		sent++;
	CHECK_EQ(rc, ERR_FULL);
	CHECK(sent > 100);
	/* a Data frame still fits: queries never starve transmissions */
	CHECK(radio_ready(c.r));
	CHECK_EQ(radio_send(c.r, fr, sizeof(fr)), ERR_OK);
	c.f.paused = 0;
	WAIT(&c, c.tx_ok == 1);
	CHECK_EQ(c.tx_ok, 1);
	CHECK_EQ(c.f.pings, pings + sent);
	CHECK_EQ(c.f.pings_at_last_data, pings + sent);
	CHECK_EQ(c.f.datas, 1);
	CHECK_EQ(c.f.last_data_len, sizeof(fr));
	CHECK_MEM(c.f.last_data, fr, sizeof(fr));
	CHECK_EQ(c.f.dec.noise_bytes, 0);
	CHECK_EQ(c.f.dec.bad_escapes, 0);
	CHECK_EQ(c.f.bad_frames, 0);
	CHECK_EQ(c.downs, 0);
	teardown(&c);
}

/* A modem that never answers GetVersion: up after the grace period, warned. */
static void test_plain_kiss(int kind)
{
	struct t c;

	setup(&c, kind);
	c.f.mute = 1;
	WAIT(&c, c.f.frames >= 4);
	CHECK_EQ(c.ups, 0);
	c.skew += 5500;
	WAIT(&c, c.ups == 1 && c.f.set_radios >= 2);
	CHECK_EQ(c.ups, 1);
	CHECK(!(radio_stats(c.r)->modem.known & RADIO_KNOWN_VERSION));
	/* settings were re-sent in case the board was still booting */
	CHECK(c.f.set_radios >= 2);
	/* it answers at last: confirmed without a second link(1) */
	c.f.mute = 0;
	c.skew += 30000;
	WAIT(&c, radio_stats(c.r)->modem.known & RADIO_KNOWN_VERSION);
	CHECK(radio_stats(c.r)->modem.known & RADIO_KNOWN_VERSION);
	CHECK_EQ(c.ups, 1);
	teardown(&c);
}

static void test_specs(void)
{
	static const char *bad[] = {
	    "",
	    "tcp",
	    "udp:127.0.0.1:8001",
	    "tcp:127.0.0.1",
	    "tcp::8001",
	    "tcp:host:0",
	    "tcp:host:65536",
	    "tcp:host:80a",
	    "tcp:host:",
	    "tcp:::1:8001",
	    "tcp:[::1]8001",
	    "serial:",
	    "serial::115200",
	    "serial:/dev/ttyUSB0:",
	    "serial:/dev/ttyUSB0:12345",
	    "serial:/dev/ttyUSB0:999999999",
	};
	static const char *good[] = {
	    "tcp:127.0.0.1:8001",       "tcp:[::1]:8001",
	    "tcp:localhost:65535",      "serial:/dev/ttyUSB0",
	    "serial:/dev/ttyACM0:9600", "serial:/dev/serial/by-path/pci-0000:00:14.0-usb-0:2:1.0",
	};
	struct radio_cfg cfg = RADIO_CFG_DEFAULT;
	struct radio *r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = (struct radio *)1;
		int rc = radio_open(&r, bad[i], &cfg, NULL, 0);
		CHECK_EQ(rc, ERR_CONFIG);
		CHECK(r == NULL);
		if (rc != ERR_CONFIG)
			fprintf(stderr, "accepted bad spec \"%s\"\n", bad[i]);
	}
	CHECK_EQ(radio_open(&r, NULL, &cfg, NULL, 0), ERR_CONFIG);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int rc = radio_open(&r, good[i], &cfg, NULL, 0);
		CHECK_EQ(rc, ERR_OK);
		if (rc != ERR_OK)
			fprintf(stderr, "refused good spec \"%s\"\n", good[i]);
		else
			CHECK_STR(radio_spec(r), good[i]);
		radio_close(r);
	}
	radio_close(NULL);
	/* configuration ranges */
	struct radio_cfg b = cfg;
	b.lp.sf = 13;
	CHECK_EQ(radio_open(&r, "tcp:h:1", &b, NULL, 0), ERR_CONFIG);
	b = cfg;
	b.lp.cr = 4;
	CHECK_EQ(radio_open(&r, "tcp:h:1", &b, NULL, 0), ERR_CONFIG);
	b = cfg;
	b.txdelay_10ms = 256;
	CHECK_EQ(radio_open(&r, "tcp:h:1", &b, NULL, 0), ERR_CONFIG);
	b = cfg;
	b.persistence = -2;
	CHECK_EQ(radio_open(&r, "tcp:h:1", &b, NULL, 0), ERR_CONFIG);
	b = cfg;
	b.tx_power_dbm = 200;
	CHECK_EQ(radio_open(&r, "tcp:h:1", &b, NULL, 0), ERR_CONFIG);
	/* passive: no radio parameters needed */
	b = cfg;
	b.lp = (struct lora_params){0};
	CHECK_EQ(radio_open(&r, "tcp:h:1", &b, NULL, 0), ERR_OK);
	radio_close(r);
}

/* A device that is absent or not a tty: retried, never a crash. */
static void test_absent_device(void)
{
	static const char *specs[] = {"serial:/nonexistent/ttyUSB9", "serial:/dev/null"};
	struct radio_cfg cfg = RADIO_CFG_DEFAULT;

	for (size_t i = 0; i < 2; i++) {
		struct radio *r;
		CHECK_EQ(radio_open(&r, specs[i], &cfg, NULL, 1000), ERR_OK);
		uint64_t now = 1000;
		for (int k = 0; k < 5; k++) {
			radio_tick(r, now);
			CHECK(!radio_link_up(r));
			now = radio_next_deadline(r);
		}
		CHECK_EQ(radio_stats(r)->connect_failures, 5);
		CHECK_EQ(now, 1000 + 250 + 500 + 1000 + 2000 + 4000);
		CHECK_EQ(radio_query(r, KISS_HW_PING, NULL, 0), ERR_AGAIN);
		CHECK_EQ(radio_send(r, (const uint8_t *)"x", 1), ERR_AGAIN);
		radio_close(r);
	}
}

/* ---- the modem unplugged with a mesh above the radio ------------------------ */

static int mesh_tx(void *ctx, const uint8_t *frame, size_t len)
{
	struct t *c = ctx;
	return radio_send(c->r, frame, len);
}

static void pump_mesh(struct t *c)
{
	pump(c);
	mesh_tick(c->mesh, c->last_now);
}

#define WAIT_MESH(c, cond)                                                                         \
	do {                                                                                       \
		for (int w_ = 0; w_ < 2000 && !(cond); w_++)                                       \
			pump_mesh(c);                                                              \
	} while (0)

/*
 * The board is unplugged for a while (the serial device node is gone, or the
 * TCP server is down) while the mesh keeps queueing packets: the radio retries
 * with backoff, refuses frames meanwhile (the mesh keeps them), and once the
 * board is back every queued packet goes out, once, in order.
 */
static void test_unplugged(int kind)
{
	struct t c;
	struct mesh m;
	struct mesh_cfg cfg;
	struct rng_seeded seed;
	struct rng rng;
	const struct radio_stats *st;
	enum { N = 6 };

	setup(&c, kind);
	st = radio_stats(c.r);
	WAIT(&c, c.ups == 1);
	CHECK_EQ(c.ups, 1);
	mesh_cfg_defaults(&cfg);
	rng_seeded_init(&seed, &rng, 5);
	mesh_init(&m, &cfg, &(struct mesh_io){.transmit = mesh_tx, .ctx = &c}, &rng, vnow(&c));
	c.mesh = &m;

	/* unplugged: nothing comes back at once */
	if (kind == FAKE_TCP) {
		close(c.f.lfd);
		c.f.lfd = -1;
	}
	close(c.f.fd);
	c.f.fd = -1;
	if (kind == FAKE_PTY) {
		close(c.f.slave_fd);
		c.f.slave_fd = -1;
		unlink(c.f.link);
	}
	WAIT_MESH(&c, c.downs == 1);
	CHECK_EQ(c.downs, 1);

	/* the mesh queues packets the radio cannot take */
	for (int i = 0; i < N; i++) {
		struct pkt p;
		uint8_t code[4] = {0xA0, 0xA1, 0xA2, (uint8_t)(0x10 + i)};
		CHECK_EQ(mesh_build_ack(&p, code, NULL, 0), ERR_OK);
		CHECK_EQ(mesh_send_zero_hop(&m, &p, 0), ERR_OK);
	}
	/* several reconnect attempts over ~8 s of backoff */
	uint64_t fails = st->connect_failures;
	for (int k = 0; k < 5; k++) {
		uint64_t dl = radio_next_deadline(c.r), now = vnow(&c);
		if (dl > now)
			c.skew += dl - now;
		uint64_t before = st->connect_failures;
		WAIT_MESH(&c, st->connect_failures > before);
	}
	CHECK(st->connect_failures >= fails + 5);
	CHECK_EQ(c.f.datas, 0);
	CHECK_EQ(mesh_queue_len(&m), N);
	CHECK_EQ(m.stats.tx_failed, 0);
	CHECK_EQ(c.ups, 1);

	/* plugged back */
	if (kind == FAKE_TCP)
		c.f.lfd = tcp_listen(c.f.port, &c.f.port);
	else
		fake_pty_new(&c.f);
	uint64_t dl = radio_next_deadline(c.r), now = vnow(&c);
	if (dl > now)
		c.skew += dl - now;
	WAIT_MESH(&c, c.ups == 2);
	CHECK_EQ(c.ups, 2);
	for (int w = 0; w < 200 && c.tx_ok < N; w++) {
		c.skew += 500; /* duty-cycle and channel-busy waits of the mesh */
		WAIT_MESH(&c, c.tx_ok == N);
	}
	CHECK_EQ(c.f.datas, N);
	for (int i = 0; i < N; i++)
		CHECK_EQ(c.f.data_tags[i], 0x10 + i);
	CHECK_EQ(c.tx_ok, N);
	CHECK_EQ(mesh_queue_len(&m), 0);
	CHECK_EQ(m.stats.sent, N);
	CHECK_EQ(m.stats.tx_failed, 0);
	CHECK_EQ(st->reconnects, 1);
	c.mesh = NULL;
	teardown(&c);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	log_set_level(getenv("RADIO_TEST_LOG") ? LOG_TRACE : LOG_ERR);
	test_specs();
	test_absent_device();
	for (int kind = FAKE_TCP; kind <= FAKE_PTY; kind++) {
		test_session(kind);
		test_sense(kind);
		test_reconnect(kind);
		test_plain_kiss(kind);
		test_unplugged(kind);
	}
	test_backoff();
	test_partial_writes();
	return harness_done("test_radio");
}
