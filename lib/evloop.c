// SPDX-License-Identifier: MIT
/* The event loop: epoll for descriptors, a binary heap for timers, a signalfd for signals. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "err.h"
#include "evloop.h"
#include "frame.h"
#include "mem.h"

#define READY_MAX 64 /* events taken from the kernel per wait */

struct evloop {
	int epfd;
	bool done;
	/* the armed timers, earliest first; room for every registered one */
	struct ev_timer **heap;
	size_t armed, registered, cap;
	/* the events of this wait, while their callbacks run */
	struct epoll_event ready[READY_MAX];
	int n_ready, at;
	int sigfd;
	struct ev_io sig_io;
	ev_signal_fn *sig_fn;
	void *sig_arg;
};

int evloop_new(struct evloop **ret)
{
	struct evloop *l = calloc(1, sizeof(*l));

	if (!l)
		return err_set(-ENOMEM, "out of memory for an event loop");
	l->sigfd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int rc = err_set(-errno, "epoll_create1: %s", strerror(errno));

		free(l);
		return rc;
	}
	*ret = l;
	return 0;
}

void evloop_free(struct evloop *l)
{
	if (!l)
		return;
	if (l->sigfd >= 0)
		close(l->sigfd);
	close(l->epfd);
	free(l->heap);
	free(l);
}

void evloop_exit(struct evloop *l)
{
	l->done = true;
}

/* ---- descriptors ---- */

/*
 * Nothing wanted: EPOLLONESHOT with no events, so that a hang-up (which
 * epoll reports whatever was asked) wakes the loop once at most, unseen by
 * the owner, and never again until something is wanted.
 */
static uint32_t epoll_events(unsigned want)
{
	uint32_t ev = 0;

	if (want & EVLOOP_READ)
		ev |= EPOLLIN;
	if (want & EVLOOP_WRITE)
		ev |= EPOLLOUT;
	return ev ? ev : EPOLLONESHOT;
}

int ev_io_add(struct evloop *l, struct ev_io *io, int fd, unsigned want, ev_io_fn *fn, void *arg)
{
	struct epoll_event ev = {.events = epoll_events(want), .data.ptr = io};

	*io = (struct ev_io){.fd = fd, .want = want, .fn = fn, .arg = arg};
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return err_set(-errno, "epoll_ctl: %s", strerror(errno));
	return 0;
}

void ev_io_want(struct evloop *l, struct ev_io *io, unsigned want)
{
	struct epoll_event ev = {.events = epoll_events(want), .data.ptr = io};

	if (want == io->want)
		return;
	io->want = want;
	/* a registered, open descriptor: MOD allocates nothing and cannot fail */
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
		log_err("epoll_ctl(%d): %s", io->fd, strerror(errno));
}

void ev_io_del(struct evloop *l, struct ev_io *io)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	/* its events still waiting in this pass must not reach a freed owner */
	for (int i = l->at + 1; i < l->n_ready; i++)
		if (l->ready[i].data.ptr == io)
			l->ready[i].data.ptr = NULL;
	io->want = 0;
}

/* ---- timers ---- */

static void heap_put(struct evloop *l, size_t i, struct ev_timer *t)
{
	l->heap[i] = t;
	t->slot = i + 1;
}

static void sift_up(struct evloop *l, size_t i)
{
	struct ev_timer *t = l->heap[i];

	while (i > 0 && l->heap[(i - 1) / 2]->due_ms > t->due_ms) {
		heap_put(l, i, l->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_put(l, i, t);
}

static void sift_down(struct evloop *l, size_t i)
{
	struct ev_timer *t = l->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= l->armed)
			break;
		if (c + 1 < l->armed && l->heap[c + 1]->due_ms < l->heap[c]->due_ms)
			c++;
		if (t->due_ms <= l->heap[c]->due_ms)
			break;
		heap_put(l, i, l->heap[c]);
		i = c;
	}
	heap_put(l, i, t);
}

int ev_timer_add(struct evloop *l, struct ev_timer *t, ev_timer_fn *fn, void *arg)
{
	int rc = array_grow((void **)&l->heap, &l->cap, l->registered, sizeof(*l->heap), 16);

	if (rc < 0)
		return rc;
	*t = (struct ev_timer){.fn = fn, .arg = arg};
	l->registered++;
	return 0;
}

void ev_timer_at(struct evloop *l, struct ev_timer *t, int64_t due_ms)
{
	t->due_ms = due_ms;
	if (!t->slot)
		heap_put(l, l->armed++, t);
	sift_up(l, t->slot - 1);
	sift_down(l, t->slot - 1);
}

void ev_timer_stop(struct evloop *l, struct ev_timer *t)
{
	size_t i;
	struct ev_timer *last;

	if (!t->slot)
		return;
	i = t->slot - 1;
	t->slot = 0;
	last = l->heap[--l->armed];
	if (last == t)
		return;
	heap_put(l, i, last);
	sift_up(l, i);
	sift_down(l, last->slot - 1);
}

void ev_timer_del(struct evloop *l, struct ev_timer *t)
{
	ev_timer_stop(l, t);
	l->registered--;
}

/* ---- signals ---- */

static void signals_read(void *arg, unsigned ready)
{
	struct evloop *l = arg;
	struct signalfd_siginfo si;

	(void)ready;
	while (read(l->sigfd, &si, sizeof(si)) == sizeof(si))
		l->sig_fn(l->sig_arg, (int)si.ssi_signo);
}

int evloop_signals(struct evloop *l, const int *signals, size_t n, ev_signal_fn *fn, void *arg)
{
	sigset_t set;
	int rc;

	if (l->sigfd >= 0)
		return err_set(-EBUSY, "the loop has its signals already");
	sigemptyset(&set);
	for (size_t i = 0; i < n; i++)
		sigaddset(&set, signals[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	l->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (l->sigfd < 0)
		return err_set(-errno, "signalfd: %s", strerror(errno));
	l->sig_fn = fn;
	l->sig_arg = arg;
	rc = ev_io_add(l, &l->sig_io, l->sigfd, EVLOOP_READ, signals_read, l);
	if (rc < 0) {
		close(l->sigfd);
		l->sigfd = -1;
	}
	return rc;
}

void evloop_signals_reset(void)
{
	static const int dfl[] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD};
	sigset_t none;

	for (size_t i = 0; i < sizeof(dfl) / sizeof(dfl[0]); i++)
		signal(dfl[i], SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* ---- the loop ---- */

/*
 * Calls the timers due by now: at most as many as were armed, so that one
 * that keeps arming itself for now cannot keep the loop from waiting.
 */
static void timers_run(struct evloop *l)
{
	int64_t now = frame_now_ms();
	size_t n = l->armed;

	while (n-- && l->armed && l->heap[0]->due_ms <= now && !l->done) {
		struct ev_timer *t = l->heap[0];

		ev_timer_stop(l, t);
		t->fn(t->arg);
	}
}

static int wait_ms(const struct evloop *l)
{
	int64_t left;

	if (!l->armed)
		return -1;
	left = l->heap[0]->due_ms - frame_now_ms();
	return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

int evloop_run(struct evloop *l)
{
	l->done = false;
	while (!l->done) {
		timers_run(l);
		if (l->done)
			break;
		l->n_ready = epoll_wait(l->epfd, l->ready, READY_MAX, wait_ms(l));
		if (l->n_ready < 0 && errno != EINTR)
			return err_set(-errno, "epoll_wait: %s", strerror(errno));
		for (l->at = 0; l->at < l->n_ready; l->at++) {
			struct ev_io *io = l->ready[l->at].data.ptr;
			uint32_t ev = l->ready[l->at].events;
			unsigned ready = 0;

			if (!io || !io->want) /* deleted meanwhile, or wanting nothing */
				continue;
			if (ev & EPOLLIN)
				ready |= EVLOOP_READ;
			if (ev & EPOLLOUT)
				ready |= EVLOOP_WRITE;
			if (ev & (EPOLLHUP | EPOLLERR))
				ready |= EVLOOP_HUP;
			ready &= io->want | EVLOOP_HUP;
			if (ready)
				io->fn(io->arg, ready);
		}
		l->n_ready = l->at = 0;
	}
	return 0;
}
