#ifndef MONITORD_STARTUP_SIGNALS_H
#define MONITORD_STARTUP_SIGNALS_H

/// Replaces the default (fatal) action of SIGHUP, SIGTERM and SIGINT with a handler that only
/// records the signal, and unblocks the three if the parent left them blocked. Idempotent;
/// async-signal-safe state only.
void startup_signals_hold(void);

/// The held signals received since holding began, one bit per signal number (1 << number), and
/// clears them.
unsigned startup_signals_take(void);

/// The held signals received since holding began, as `startup_signals_take`, without clearing them.
unsigned startup_signals_pending(void);

#endif
