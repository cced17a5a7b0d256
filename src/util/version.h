/*
 * version.h - the one version every program prints with --version (roomd,
 * roomctl, roomc, kissprobe, meshair) and the Debian package carries
 * (debian/changelog must name the same; tests/e2e/deb.sh checks it).
 */
#ifndef ROOMD_UTIL_VERSION_H
#define ROOMD_UTIL_VERSION_H

#define ROOMD_VERSION "0.1.0"
/* the MeshCore firmware release whose wire protocol we speak */
#define ROOMD_MESHCORE_COMPAT "v1.17.1"

#endif
