/*
 * mqtt.c - libmosquitto on the caller's event loop (mqtt.h).
 */
#include "sys/mqtt.h"

#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/err.h"
#include "util/log.h"

#define SUB            "mqtt"
#define KEEPALIVE_S    30
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 10000

struct mqtt {
	struct mosquitto *mosq;
	struct mqtt_cfg cfg;
	mqtt_msg_fn *on_msg;
	mqtt_conn_fn *on_conn;
	void *ctx;
	bool connected;
	bool connecting; /* a connect is under way (socket open) */
	bool dead;       /* the socket failed: not watched until the next attempt */
	uint64_t retry_ms, backoff_ms;
	uint32_t queued;
};

static int lib_users;

int mqtt_url_parse(const char *url, struct mqtt_cfg *cfg, char *room, size_t room_cap)
{
	const char *p;
	if (!strncmp(url, "mqtt://", 7)) {
		p = url + 7;
		cfg->tls = false;
	} else if (!strncmp(url, "mqtts://", 8)) {
		p = url + 8;
		cfg->tls = true;
	} else {
		return ERR_INVAL;
	}
	const char *slash = strchr(p, '/');
	if (!slash || !slash[1] || strpbrk(slash + 1, "/+#") || strlen(slash + 1) >= room_cap)
		return ERR_INVAL;
	const char *at = memchr(p, '@', (size_t)(slash - p));
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		size_t ul = colon ? (size_t)(colon - p) : (size_t)(at - p);
		if (ul == 0 || ul >= sizeof(cfg->username))
			return ERR_INVAL;
		snprintf(cfg->username, sizeof(cfg->username), "%.*s", (int)ul, p);
		if (colon) {
			size_t pl = (size_t)(at - colon - 1);
			if (pl >= sizeof(cfg->password))
				return ERR_INVAL;
			snprintf(cfg->password, sizeof(cfg->password), "%.*s", (int)pl, colon + 1);
		}
		p = at + 1;
	}
	const char *colon = memchr(p, ':', (size_t)(slash - p));
	size_t hl = colon ? (size_t)(colon - p) : (size_t)(slash - p);
	if (hl == 0 || hl >= sizeof(cfg->host))
		return ERR_INVAL;
	snprintf(cfg->host, sizeof(cfg->host), "%.*s", (int)hl, p);
	cfg->port = cfg->tls ? 8883 : 1883;
	if (colon) {
		char *end;
		long port = strtol(colon + 1, &end, 10);
		if (end != slash || port < 1 || port > 65535)
			return ERR_INVAL;
		cfg->port = (int)port;
	}
	snprintf(room, room_cap, "%s", slash + 1);
	return ERR_OK;
}

static void set_up(struct mqtt *m, bool up)
{
	if (m->connected == up)
		return;
	m->connected = up;
	if (m->on_conn)
		m->on_conn(m->ctx, up);
}

static void cb_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct mqtt *m = obj;
	if (rc != 0) {
		log_warn(SUB, "%s:%d refused the connection: %s", m->cfg.host, m->cfg.port,
		         mosquitto_connack_string(rc));
		return;
	}
	m->backoff_ms = BACKOFF_MIN_MS;
	int r = mosquitto_subscribe(mosq, NULL, m->cfg.subscribe, 1);
	if (r != MOSQ_ERR_SUCCESS)
		log_err(SUB, "subscribe %s: %s", m->cfg.subscribe, mosquitto_strerror(r));
	log_info(SUB, "connected to %s:%d as %s", m->cfg.host, m->cfg.port, m->cfg.client_id);
	set_up(m, true);
}

static void cb_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	struct mqtt *m = obj;
	(void)mosq;
	if (m->connected)
		log_warn(SUB, "disconnected from %s:%d (%d)", m->cfg.host, m->cfg.port, rc);
	m->connecting = false;
	set_up(m, false);
}

static void cb_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	struct mqtt *m = obj;
	(void)mosq;
	if (m->on_msg && msg->payloadlen >= 0)
		m->on_msg(m->ctx, msg->topic, msg->payload, (size_t)msg->payloadlen);
}

static void cb_publish(struct mosquitto *mosq, void *obj, int mid)
{
	struct mqtt *m = obj;
	(void)mosq;
	(void)mid;
	if (m->queued)
		m->queued--;
}

static void try_connect(struct mqtt *m, uint64_t now_ms)
{
	int rc = m->retry_ms == 0 && !m->connecting
	             ? mosquitto_connect_async(m->mosq, m->cfg.host, m->cfg.port, KEEPALIVE_S)
	             : mosquitto_reconnect_async(m->mosq);
	m->dead = false;
	if (rc == MOSQ_ERR_SUCCESS) {
		m->connecting = true;
		m->retry_ms = now_ms + m->backoff_ms; /* if it never completes */
	} else {
		log_debug(SUB, "connect %s:%d: %s", m->cfg.host, m->cfg.port,
		          rc == MOSQ_ERR_ERRNO ? "connection failed" : mosquitto_strerror(rc));
		m->connecting = false;
		m->retry_ms = now_ms + m->backoff_ms;
	}
	m->backoff_ms = m->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : m->backoff_ms * 2;
}

int mqtt_open(struct mqtt **out, const struct mqtt_cfg *cfg, mqtt_msg_fn *on_msg,
              mqtt_conn_fn *on_conn, void *ctx, uint64_t now_ms)
{
	struct mqtt *m = calloc(1, sizeof(*m));
	*out = NULL;
	if (!m)
		return ERR_NOMEM;
	if (lib_users++ == 0)
		mosquitto_lib_init();
	m->cfg = *cfg;
	m->on_msg = on_msg;
	m->on_conn = on_conn;
	m->ctx = ctx;
	m->backoff_ms = BACKOFF_MIN_MS;
	/* a persistent session under a fixed id: the broker keeps what comes
	 * for us while we are away */
	m->mosq = mosquitto_new(cfg->client_id, false, m);
	if (!m->mosq) {
		log_err(SUB, "cannot create a client");
		mqtt_close(m);
		return ERR_SYS;
	}
	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_max_inflight_messages_set(m->mosq, 100);
	if (cfg->username[0] && mosquitto_username_pw_set(
	                            m->mosq, cfg->username,
	                            cfg->password[0] ? cfg->password : NULL) != MOSQ_ERR_SUCCESS) {
		mqtt_close(m);
		return ERR_CONFIG;
	}
	if (cfg->tls || cfg->cafile[0]) {
		int rc = mosquitto_tls_set(m->mosq, cfg->cafile[0] ? cfg->cafile : NULL,
		                           cfg->cafile[0] ? NULL : "/etc/ssl/certs",
		                           cfg->certfile[0] ? cfg->certfile : NULL,
		                           cfg->keyfile[0] ? cfg->keyfile : NULL, NULL);
		if (rc != MOSQ_ERR_SUCCESS) {
			log_err(SUB, "TLS: %s", mosquitto_strerror(rc));
			mqtt_close(m);
			return ERR_CONFIG;
		}
	}
	mosquitto_connect_callback_set(m->mosq, cb_connect);
	mosquitto_disconnect_callback_set(m->mosq, cb_disconnect);
	mosquitto_message_callback_set(m->mosq, cb_message);
	mosquitto_publish_callback_set(m->mosq, cb_publish);
	try_connect(m, now_ms);
	*out = m;
	return ERR_OK;
}

void mqtt_close(struct mqtt *m)
{
	if (!m)
		return;
	if (m->mosq) {
		if (m->connected) {
			mosquitto_disconnect(m->mosq);
			mosquitto_loop_write(m->mosq, 1);
		}
		mosquitto_destroy(m->mosq);
	}
	if (--lib_users == 0)
		mosquitto_lib_cleanup();
	free(m);
}

int mqtt_publish(struct mqtt *m, const char *topic, const uint8_t *payload, size_t len, bool retain)
{
	if (!m->connected)
		return ERR_CLOSED;
	int rc = mosquitto_publish(m->mosq, NULL, topic, (int)len, payload, 1, retain);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_debug(SUB, "publish %s: %s", topic, mosquitto_strerror(rc));
		return ERR_CLOSED;
	}
	m->queued++;
	return ERR_OK;
}

int mqtt_socket(const struct mqtt *m)
{
	return m && !m->dead ? mosquitto_socket(m->mosq) : -1;
}

bool mqtt_want_write(const struct mqtt *m)
{
	return m && mosquitto_socket(m->mosq) >= 0 && mosquitto_want_write(m->mosq);
}

static void lost(struct mqtt *m, int rc, uint64_t now_ms)
{
	if (m->connected || m->connecting)
		log_debug(SUB, "connection: %s", mosquitto_strerror(rc));
	m->connecting = false;
	m->dead = true;
	set_up(m, false);
	if (!m->retry_ms || m->retry_ms < now_ms)
		m->retry_ms = now_ms + m->backoff_ms;
}

void mqtt_io(struct mqtt *m, bool readable, bool writable, uint64_t now_ms)
{
	int rc = MOSQ_ERR_SUCCESS;
	if (!m->connected) {
		/* a connect under way that failed (refused, unreachable): the
		 * socket stays readable, and libmosquitto's loop_read would not
		 * say so */
		int err = 0;
		socklen_t el = sizeof(err);
		int fd = mosquitto_socket(m->mosq);
		if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err) {
			log_debug(SUB, "connect %s:%d: %s", m->cfg.host, m->cfg.port,
			          strerror(err));
			lost(m, MOSQ_ERR_CONN_LOST, now_ms);
			return;
		}
	}
	if (readable)
		rc = mosquitto_loop_read(m->mosq, 1);
	if (rc == MOSQ_ERR_SUCCESS && writable)
		rc = mosquitto_loop_write(m->mosq, 1);
	if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN)
		lost(m, rc, now_ms);
	else if (rc == MOSQ_ERR_NO_CONN)
		lost(m, rc, now_ms);
}

void mqtt_tick(struct mqtt *m, uint64_t now_ms)
{
	if (!m)
		return;
	if (m->connected) { /* keep-alive pings; otherwise the retry below */
		int rc = mosquitto_loop_misc(m->mosq);
		if (rc != MOSQ_ERR_SUCCESS)
			lost(m, rc, now_ms);
	}
	if (m->connected && mosquitto_want_write(m->mosq))
		(void)mosquitto_loop_write(m->mosq, 1);
	if (!m->connected && now_ms >= m->retry_ms &&
	    (!m->connecting || mosquitto_socket(m->mosq) < 0)) {
		m->connecting = false;
		try_connect(m, now_ms);
	} else if (!m->connected && m->connecting && now_ms >= m->retry_ms) {
		/* a connect that never completed */
		mosquitto_disconnect(m->mosq);
		m->connecting = false;
		try_connect(m, now_ms);
	}
}

bool mqtt_connected(const struct mqtt *m)
{
	return m && m->connected;
}

uint32_t mqtt_queued(const struct mqtt *m)
{
	return m ? m->queued : 0;
}
