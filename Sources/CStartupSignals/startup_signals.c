// The first instant of a daemon's life, before the Swift runtime exists.
//
// A SIGHUP's default action ends the process. `StartupSignals.hold()` is the first statement of
// each daemon's `main`, but before `main` come the dynamic loader, the Swift runtime's start-up and
// (in a debug build) the loading of the Swift libraries: tens of milliseconds in which a `kill -HUP`
// from a configuration-management tool killed the daemon (outside audit 3, finding 03). A
// constructor runs as soon as the loader has relocated the executable, before any other code of
// ours and before the Swift runtime's own static initialisers, so the signals are held from there.
//
// It holds only when the program runs under one of the daemons' names: a test runner that links
// the daemons' code must keep the ordinary SIGTERM and SIGINT.

#include "startup_signals.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

static _Atomic unsigned received;

static void record(int number) {
    atomic_fetch_or_explicit(&received, 1u << (unsigned)number, memory_order_relaxed);
}

void startup_signals_hold(void) {
    static const int held[] = {SIGHUP, SIGTERM, SIGINT};
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = record;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigset_t unblocked;
    sigemptyset(&unblocked);
    for (unsigned index = 0; index < sizeof held / sizeof held[0]; index++) {
        sigaction(held[index], &action, NULL);
        sigaddset(&unblocked, held[index]);
    }
    // A parent may exec us with these signals blocked (the mask and anything pending survive
    // exec): then a reload or stop would never be heard. Unblocked here, before any thread exists,
    // every thread started later inherits the open mask, and one already pending is recorded now.
    pthread_sigmask(SIG_UNBLOCK, &unblocked, NULL);
}

unsigned startup_signals_pending(void) {
    return atomic_load_explicit(&received, memory_order_acquire);
}

unsigned startup_signals_take(void) {
    return atomic_exchange_explicit(&received, 0, memory_order_acq_rel);
}

static int is_daemon(const char *path) {
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    return strcmp(name, "monitord") == 0 || strcmp(name, "monitor-agent") == 0;
}

// glibc passes these functions the program's arguments. In `.preinit_array` (executables only) it
// runs before the shared libraries' constructors (a debug build's Swift and Foundation libraries
// take tens of milliseconds there); when linked into a shared object it is simply not run.
static void hold_before_main(int argc, char **argv, char **envp) {
    (void)envp;
    if (argc < 1 || argv == NULL || argv[0] == NULL || !is_daemon(argv[0])) return;
    startup_signals_hold();
}

__attribute__((section(".preinit_array"), used)) static void (*const hold_first)(int, char **, char **) =
    hold_before_main;
