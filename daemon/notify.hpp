// SPDX-License-Identifier: ISC
#pragma once

#include <string_view>

// The service manager's readiness protocol (systemd's sd_notify(3), Type=notify), without
// libsystemd: one datagram of newline-separated assignments to the socket named by
// $NOTIFY_SOCKET. With no $NOTIFY_SOCKET every function does nothing.
namespace mxd {

// Opens the socket to $NOTIFY_SOCKET now and keeps it for every later message: mxd started as
// root does this before it gives root up, as the socket may be root's alone.
void notify_connect();

// Sends `state` ("READY=1", ...). False when $NOTIFY_SOCKET is unset, malformed or the send
// failed; the daemon carries on either way, so callers may ignore it.
bool notify(std::string_view state);

// READY=1: mxd listens and answers on its control socket (start-up, or a reload done).
bool notify_ready();

// RELOADING=1 with MONOTONIC_USEC (CLOCK_MONOTONIC now), which Type=notify-reload and systemd
// 253's reload tracking require; notify_ready() ends the reload.
bool notify_reloading();

// STOPPING=1: mxd has begun to stop.
bool notify_stopping();

} // namespace mxd
