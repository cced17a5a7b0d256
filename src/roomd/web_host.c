/*
 * web_host.c - what roomd's web page (src/web) sees of the daemon: the
 * rooms, commands through the same door as the console, the radio's and the
 * federation's counters.  Part of roomd (daemon.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "roomd/daemon.h"
#include "web/web.h"
#include "room/settings.h"
#include "sys/sys.h"
#include "util/err.h"
#include "util/log.h"

/* ---- what the web page sees of the daemon (web.h) ---- */

static int host_n_rooms(void *ctx)
{
	return ((struct daemon *)ctx)->n_rooms;
}

static struct room *host_room(void *ctx, int i)
{
	return ((struct daemon *)ctx)->rooms[i];
}

static int host_command(void *ctx, int i, const char *line, char *reply, size_t cap)
{
	int cur = i;
	return roomd_run_command(ctx, line, CMD_LOCAL, &cur, reply, cap);
}

static int host_fed_counters(void *ctx, struct web_counter *out, int max)
{
	struct daemon *d = ctx;
	if (!d->fed_on || !d->n_feds)
		return 0;
	/* the gauges of the first room, the counters summed over the rooms */
	const struct fed *f = d->feds[0];
	struct fed_stats sum = {0}, *s = &sum;
	for (int i = 0; i < d->n_feds; i++) {
		const struct fed_stats *x = &d->feds[i]->stats;
#define S(fl) sum.fl += x->fl
		S(published), S(publish_failed), S(posts_applied), S(posts_dup), S(members_applied);
		S(settings_applied), S(resync_posts_sent), S(dropped_garbage),
		    S(dropped_wrong_room);
		S(dropped_bad_sig), S(dropped_store), S(members_removed);
#undef S
	}
	uint64_t now = app_now_ms();
	struct web_counter all[] = {
	    {"connected", "1 while the broker connection is up", WEB_GAUGE, f->up},
	    {"peers", "sites heard in the last 90 s", WEB_GAUGE, fed_peers_live(f)},
	    {"lag_p50_ms", "replication lag of recent live posts, median", WEB_GAUGE,
	     fed_lag_pct(f, 50)},
	    {"lag_p99_ms", "replication lag of recent live posts, 99th percentile", WEB_GAUGE,
	     fed_lag_pct(f, 99)},
	    {"queued", "messages published and not yet acknowledged by the broker", WEB_GAUGE,
	     mqtt_queued(d->mq)},
	    {"last_sync_age_seconds", "since a peer's hello showed nothing missing (-1: never)",
	     WEB_GAUGE, f->last_sync_ms ? (double)(now - f->last_sync_ms) / 1000.0 : -1},
#define C(fl, h) {#fl, h, WEB_COUNTER, (double)s->fl}
	    C(published, "messages published"),
	    C(publish_failed, "messages not handed to the broker"),
	    C(posts_applied, "posts from other sites stored"),
	    C(posts_dup, "posts from other sites already held"),
	    C(members_applied, "member records merged"),
	    C(members_removed, "members removed by a removal at another site"),
	    C(settings_applied, "room settings applied"),
	    C(resync_posts_sent, "posts sent again to a peer that lacked them"),
	    C(dropped_garbage, "messages dropped: malformed"),
	    C(dropped_wrong_room, "messages dropped: another room's"),
	    C(dropped_bad_sig, "messages dropped: bad signature"),
	    C(dropped_store, "messages dropped: the store failed"),
#undef C
	};
	int n = 0;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]) && n < max; i++)
		out[n++] = all[i];
	return n;
}

static int host_radio_counters(void *ctx, struct web_counter *out, int max)
{
	struct daemon *d = ctx;
	const struct radio_stats *s = radio_stats(d->radio);
	struct web_counter all[] = {
#define C(f, h) {#f, h, WEB_COUNTER, (double)s->f}
	    C(rx_frames, "frames from the modem"),
	    C(rx_dropped, "frames from the modem dropped (empty or too long)"),
	    C(tx_frames, "frames sent (TxDone ok)"),
	    C(tx_failures, "frames not sent (TxDone failed or timed out)"),
	    C(tx_timeouts, "frames with no TxDone in time"),
	    C(tx_busy, "TxBusy answers (retried)"),
	    C(tx_resent, "frames re-sent after a reconnect"),
	    C(link_ups, "modem links that came up"),
	    C(link_downs, "modem links that went down"),
	    C(reconnects, "reconnections"),
	    C(connect_failures, "failed connection attempts"),
	    C(kiss_frames, "KISS frames decoded"),
	    C(kiss_noise_bytes, "bytes outside any KISS frame"),
	    C(kiss_bad_escapes, "bad KISS escapes"),
	    C(kiss_oversized, "oversized KISS frames"),
	    C(unknown_frames, "unknown modem frames"),
	    C(modem_errors, "modem error answers"),
	    C(modem_resets, "modem resets (settings re-applied)"),
	    C(queue_full, "modem queries not sent: queue full"),
	    C(sense_misses, "IsChannelBusy queries unanswered"),
#undef C
	    {"link_up", "1 while the modem link is up", WEB_GAUGE, radio_link_up(d->radio) ? 1 : 0},
	    {"last_snr_db", "SNR of the last frame with metadata", WEB_GAUGE, s->last_snr_x4 / 4.0},
	    {"last_rssi_dbm", "RSSI of the last frame with metadata", WEB_GAUGE, s->last_rssi_dbm},
	};
	int n = 0;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]) && n < max; i++)
		out[n++] = all[i];
	return n;
}

static void host_radio_settings(void *ctx, char *out, size_t cap)
{
	struct daemon *d = ctx;
	char lp[64];
	room_radio_format(&d->cfg.radio_cfg.lp, lp, sizeof(lp));
	snprintf(out, cap, "%s: %s (MHz,kHz,SF,CR), %d dBm%s", d->cfg.radio, lp,
	         d->cfg.radio_cfg.tx_power_dbm,
	         radio_link_up(d->radio) ? ", link up" : ", link down");
}

void roomd_web_start(struct daemon *d)
{
	struct web_host h = {
	    .ctx = d,
	    .store = d->store,
	    .mesh = &d->mesh,
	    .data_dir = d->cfg.data_dir,
	    .n_rooms = host_n_rooms,
	    .room = host_room,
	    .command = host_command,
	    .radio_counters = host_radio_counters,
	    .fed_counters = host_fed_counters,
	    .radio_settings = host_radio_settings,
	    .now_ms = app_now_ms,
	};
	int rc = web_open(&d->web, loop_base(d->loop), d->cfg.http_listen, &h);
	if (rc == ERR_NOT_FOUND)
		log_info("roomd", "web page off");
	else if (rc == ERR_INVAL)
		log_err("roomd",
		        "http.listen %s: expected ADDR:PORT (e.g. 127.0.0.1:8073) or off; "
		        "the web page is off",
		        d->cfg.http_listen);
	else if (rc)
		log_err("roomd", "the web page is off (cannot listen on %s); the rooms run on",
		        d->cfg.http_listen);
}
