/* SPDX-License-Identifier: MIT */
/*
 * One event loop per process (STYLE.md habit 6), used the way OpenBSD's
 * daemons use libevent: a callback per descriptor, one-shot timers, and
 * signals read from a signalfd, so no handler ever runs asynchronously.
 * Over epoll, level-triggered: nothing here blocks but the wait.
 *
 * The owner keeps each struct ev_io and struct ev_timer, usually inside the
 * state it belongs to, and registers it once (ev_io_add, ev_timer_add: the
 * only calls that allocate, so the only ones that can fail); changing what
 * it waits for (ev_io_want, ev_timer_at, ev_timer_stop) cannot fail.  A
 * callback may change or delete any registration, its own included, and
 * free the owner of one it deleted: nothing is called for it afterwards.
 * Times are frame_now_ms() milliseconds (CLOCK_MONOTONIC).
 */
#ifndef MEASURED_EVLOOP_H
#define MEASURED_EVLOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evloop;

/* -errno (epoll_create1) when no loop could be made. */
int evloop_new(struct evloop **ret);
/* Closes the loop (and its signalfd); the registrations stay their owners'. */
void evloop_free(struct evloop *l);
/* Calls callbacks until evloop_exit(); 0, or -errno when waiting failed. */
int evloop_run(struct evloop *l);
/* Ends evloop_run() once the callback that asks returns. */
void evloop_exit(struct evloop *l);

/* What a descriptor waits for (@want) and what it is ready for (@ready). */
#define EVLOOP_READ  1u
#define EVLOOP_WRITE 2u
#define EVLOOP_HUP   4u /* hang-up or error; reported only while something is wanted */

typedef void ev_io_fn(void *arg, unsigned ready);

struct ev_io {
	int fd;
	unsigned want;
	ev_io_fn *fn;
	void *arg;
};

/* Watches @fd for @want; -errno from epoll (ENOMEM, ENOSPC: fs.epoll.max_user_watches). */
int ev_io_add(struct evloop *l, struct ev_io *io, int fd, unsigned want, ev_io_fn *fn, void *arg);
/* What to wait for from now on; 0: nothing, not even a hang-up wakes the loop. */
void ev_io_want(struct evloop *l, struct ev_io *io, unsigned want);
/* Forgets @io; call it before closing the descriptor (a forked child may share the file). */
void ev_io_del(struct evloop *l, struct ev_io *io);

typedef void ev_timer_fn(void *arg);

struct ev_timer {
	int64_t due_ms;
	size_t slot; /* its place in the loop's heap, + 1; 0: not armed */
	ev_timer_fn *fn;
	void *arg;
};

/* Registers @t, not armed; -ENOMEM.  Arming a registered timer never fails. */
int ev_timer_add(struct evloop *l, struct ev_timer *t, ev_timer_fn *fn, void *arg);
/* Arms @t (again) to be called once, at @due_ms or as soon after as the loop gets to it. */
void ev_timer_at(struct evloop *l, struct ev_timer *t, int64_t due_ms);
void ev_timer_stop(struct evloop *l, struct ev_timer *t);
void ev_timer_del(struct evloop *l, struct ev_timer *t);
static inline bool ev_timer_armed(const struct ev_timer *t)
{
	return t->slot != 0;
}

typedef void ev_signal_fn(void *arg, int signo);

/*
 * Delivers the @n @signals (SIGTERM, SIGCHLD, ...) to @fn from the loop:
 * they are blocked and read from a signalfd.  SIGPIPE is ignored: a peer
 * that went away is an error return, not a death.  Once per loop.
 */
int evloop_signals(struct evloop *l, const int *signals, size_t n, ev_signal_fn *fn, void *arg);
/*
 * In a child forked from a process with evloop_signals: every signal
 * unblocked and at its default again, SIGPIPE still ignored.
 */
void evloop_signals_reset(void);

#endif
