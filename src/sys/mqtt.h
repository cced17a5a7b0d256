/*
 * mqtt.h - a thin libmosquitto client for the federation (src/fed), run on
 * the program's own event loop: the caller watches mqtt_socket() for
 * reading (and for writing while mqtt_want_write()), calls mqtt_io() when it
 * is ready and mqtt_tick() at least once a second.  No threads
 * (mosquitto_loop_start is never used).
 *
 * Sessions are persistent (clean_session false, a fixed client id: the site
 * name), subscriptions and publications QoS 1, so messages published while
 * a site was away wait for it at the broker.  Reconnects back off from 1 s
 * to 10 s.
 */
#ifndef ROOMD_SYS_MQTT_H
#define ROOMD_SYS_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mqtt;

struct mqtt_cfg {
	char host[256];
	int port;
	char username[128], password[128];
	char cafile[512], certfile[512], keyfile[512]; /* cafile set: TLS */
	bool tls;                                      /* mqtts:// (system CAs unless cafile) */
	char client_id[64];
	char subscribe[160]; /* topic filter */
};

/* mqtt://[user:pass@]HOST:PORT/ROOM (or mqtts://): fills host, port, user,
 * password, tls and room (a topic level).  ERR_INVAL if malformed. */
int mqtt_url_parse(const char *url, struct mqtt_cfg *cfg, char *room, size_t room_cap);

typedef void mqtt_msg_fn(void *ctx, const char *topic, const uint8_t *payload, size_t len);
typedef void mqtt_conn_fn(void *ctx, bool up);

/* Starts connecting (asynchronously).  ERR_SYS/ERR_CONFIG with a log line. */
int mqtt_open(struct mqtt **out, const struct mqtt_cfg *cfg, mqtt_msg_fn *on_msg,
              mqtt_conn_fn *on_conn, void *ctx, uint64_t now_ms);
void mqtt_close(struct mqtt *m);

/* QoS 1; ERR_CLOSED while not connected (the federation resyncs later). */
int mqtt_publish(struct mqtt *m, const char *topic, const uint8_t *payload, size_t len,
                 bool retain);

int mqtt_socket(const struct mqtt *m); /* -1 while none */
bool mqtt_want_write(const struct mqtt *m);
void mqtt_io(struct mqtt *m, bool readable, bool writable, uint64_t now_ms);
void mqtt_tick(struct mqtt *m, uint64_t now_ms);
bool mqtt_connected(const struct mqtt *m);
/* Publications handed to the client whose PUBACK is not in yet. */
uint32_t mqtt_queued(const struct mqtt *m);

#endif
