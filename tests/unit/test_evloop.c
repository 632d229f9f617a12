// SPDX-License-Identifier: MIT
/* The event loop: timers in order, deletion during a pass, quiet hang-ups, signals. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "evloop.h"
#include "frame.h"

static struct evloop *loop;
static int fired[16], n_fired;

static int setup(void **state)
{
	(void)state;
	n_fired = 0;
	alarm(10); /* a loop that never ends fails the test instead of hanging it */
	return evloop_new(&loop);
}

static int teardown(void **state)
{
	(void)state;
	alarm(0);
	evloop_free(loop);
	return 0;
}

static long cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct tick {
	struct ev_timer t;
	int id;
};

static void tick_fired(void *arg)
{
	struct tick *k = arg;

	fired[n_fired++] = k->id;
}

static void stop_loop(void *arg)
{
	(void)arg;
	evloop_exit(loop);
}

static void test_timers_in_order(void **state)
{
	struct tick k[6];
	struct ev_timer end;
	int64_t t0 = frame_now_ms();
	static const int due[6] = {50, 10, 30, 20, 40, 5};

	(void)state;
	for (int i = 0; i < 6; i++) {
		k[i].id = i;
		assert_int_equal(ev_timer_add(loop, &k[i].t, tick_fired, &k[i]), 0);
		ev_timer_at(loop, &k[i].t, t0 + due[i]);
	}
	ev_timer_at(loop, &k[0].t, t0 + 1);  /* moved earlier */
	ev_timer_at(loop, &k[5].t, t0 + 45); /* moved later */
	ev_timer_stop(loop, &k[2].t);
	assert_false(ev_timer_armed(&k[2].t));
	assert_int_equal(ev_timer_add(loop, &end, stop_loop, NULL), 0);
	ev_timer_at(loop, &end, t0 + 60);
	assert_int_equal(evloop_run(loop), 0);
	assert_true(frame_now_ms() - t0 >= 60); /* none early */
	assert_int_equal(n_fired, 5);
	assert_int_equal(fired[0], 0);
	assert_int_equal(fired[1], 1);
	assert_int_equal(fired[2], 3);
	assert_int_equal(fired[3], 4);
	assert_int_equal(fired[4], 5);
	for (int i = 0; i < 6; i++)
		ev_timer_del(loop, &k[i].t);
	ev_timer_del(loop, &end);
}

/* Two readable sockets whose callbacks each delete and free the other: one call only. */
struct peer {
	struct ev_io io;
	int fds[2];
	struct peer *other;
	bool freed;
};

static void peer_ready(void *arg, unsigned ready)
{
	struct peer *p = arg;

	assert_false(p->freed);
	assert_true(ready & EVLOOP_READ);
	fired[n_fired++] = 1;
	ev_io_del(loop, &p->other->io);
	memset(&p->other->io, 0xa5, sizeof(p->other->io)); /* as if freed */
	p->other->freed = true;
	ev_io_del(loop, &p->io);
	evloop_exit(loop);
}

static void test_delete_during_pass(void **state)
{
	struct peer a = {0}, b = {0};

	(void)state;
	a.other = &b;
	b.other = &a;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a.fds), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b.fds), 0);
	assert_int_equal(write(a.fds[1], "x", 1), 1);
	assert_int_equal(write(b.fds[1], "x", 1), 1);
	assert_int_equal(ev_io_add(loop, &a.io, a.fds[0], EVLOOP_READ, peer_ready, &a), 0);
	assert_int_equal(ev_io_add(loop, &b.io, b.fds[0], EVLOOP_READ, peer_ready, &b), 0);
	assert_int_equal(evloop_run(loop), 0);
	assert_int_equal(n_fired, 1);
	for (int i = 0; i < 2; i++) {
		close(a.fds[i]);
		close(b.fds[i]);
	}
}

static void hup_ready(void *arg, unsigned ready)
{
	unsigned *got = arg;

	*got |= ready;
	n_fired++;
	evloop_exit(loop);
}

/* A hung-up socket that is waited on for nothing neither calls back nor spins the loop. */
static void test_quiet_hangup(void **state)
{
	struct ev_io io;
	struct ev_timer end;
	unsigned got = 0;
	int fds[2];
	long cpu0;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	close(fds[1]);
	assert_int_equal(ev_io_add(loop, &io, fds[0], 0, hup_ready, &got), 0);
	assert_int_equal(ev_timer_add(loop, &end, stop_loop, NULL), 0);
	ev_timer_at(loop, &end, frame_now_ms() + 300);
	cpu0 = cpu_ms();
	assert_int_equal(evloop_run(loop), 0);
	assert_int_equal(n_fired, 0);
	assert_true(cpu_ms() - cpu0 < 100); /* a spinning loop uses the whole 300 ms */
	/* wanted again: the hang-up is seen at once */
	ev_io_want(loop, &io, EVLOOP_READ);
	ev_timer_at(loop, &end, frame_now_ms() + 5000);
	assert_int_equal(evloop_run(loop), 0);
	assert_int_equal(n_fired, 1);
	assert_true(got & EVLOOP_READ);
	assert_true(got & EVLOOP_HUP);
	ev_io_del(loop, &io);
	ev_timer_del(loop, &end);
	close(fds[0]);
}

/* A timer that keeps arming itself for now does not keep descriptors from being served. */
static void again(void *arg)
{
	n_fired++;
	ev_timer_at(loop, arg, frame_now_ms());
}

static void test_busy_timer_no_starvation(void **state)
{
	struct ev_timer busy;
	struct ev_io io;
	unsigned got = 0;
	int fds[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	assert_int_equal(write(fds[1], "x", 1), 1);
	assert_int_equal(ev_timer_add(loop, &busy, again, &busy), 0);
	ev_timer_at(loop, &busy, 0);
	assert_int_equal(ev_io_add(loop, &io, fds[0], EVLOOP_READ, hup_ready, &got), 0);
	assert_int_equal(evloop_run(loop), 0);
	assert_true(got & EVLOOP_READ);
	ev_io_del(loop, &io);
	ev_timer_del(loop, &busy);
	close(fds[0]);
	close(fds[1]);
}

static void on_signal(void *arg, int signo)
{
	(void)arg;
	fired[n_fired++] = signo;
	evloop_exit(loop);
}

static void send_usr1(void *arg)
{
	(void)arg;
	kill(getpid(), SIGUSR1);
}

/* A signal reaches its callback from the loop, not from a handler; SIGPIPE is ignored. */
static void test_signals(void **state)
{
	static const int sigs[] = {SIGUSR1};
	struct ev_timer t;
	int fds[2];

	(void)state;
	assert_int_equal(evloop_signals(loop, sigs, 1, on_signal, NULL), 0);
	assert_int_equal(evloop_signals(loop, sigs, 1, on_signal, NULL), -EBUSY);
	assert_int_equal(ev_timer_add(loop, &t, send_usr1, NULL), 0);
	ev_timer_at(loop, &t, frame_now_ms() + 10);
	assert_int_equal(evloop_run(loop), 0);
	assert_int_equal(n_fired, 1);
	assert_int_equal(fired[0], SIGUSR1);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	close(fds[1]);
	assert_int_equal(write(fds[0], "x", 1), -1); /* EPIPE, and alive */
	assert_int_equal(errno, EPIPE);
	close(fds[0]);
	ev_timer_del(loop, &t);
	evloop_signals_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_timers_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_during_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quiet_hangup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_timer_no_starvation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signals, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
