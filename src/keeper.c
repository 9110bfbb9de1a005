// SPDX-License-Identifier: GPL-2.0-only
/* keeper.c - a thread that reads a process's image at its first sample. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "allocscope.h"
#include "keeper.h"
#include "log.h"
#include "procfs.h"
#include "tracer.h"

#define POLL_MS		100	/* how soon keeper__free() is noticed */
#define TOMBSTONE_NS	(10 * 1000000000ULL)

/*
 * An image, or once taken (or asked for before it was read) a tombstone
 * that keeps its other threads' first samples from reading it again. A
 * tombstone is forgotten after a while: the pid may be reused, even by
 * the same executable.
 */
struct slot {
	pid_t pid;
	__u64 exe_ino;
	__u64 ns;
	struct proc_image *im;
};

struct keeper {
	struct tracer *tr;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t lock;	/* guards what follows */
	struct slot slots[KEEPER_SLOTS];
	unsigned int next;	/* the slot written next: the oldest */
	struct keeper_stats st;
};

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static struct slot *find(struct keeper *k, pid_t pid, __u64 exe_ino, __u64 now)
{
	struct slot *s;

	for (s = k->slots; s < k->slots + KEEPER_SLOTS; s++)
		if (s->pid == pid && s->exe_ino == exe_ino && (s->im || now - s->ns < TOMBSTONE_NS))
			return s;
	return NULL;
}

/* Called locked; returns the image evicted, for the caller to free unlocked. */
static struct proc_image *put(struct keeper *k, pid_t pid, __u64 exe_ino, __u64 now,
			      struct proc_image *im)
{
	struct slot *s = &k->slots[k->next];
	struct proc_image *old = s->im;

	*s = (struct slot){ .pid = pid, .exe_ino = exe_ino, .ns = now, .im = im };
	k->next = (k->next + 1) % KEEPER_SLOTS;
	k->st.evicted += !!old;
	return old;
}

static bool kept(struct keeper *k, pid_t pid, __u64 exe_ino)
{
	bool found;

	pthread_mutex_lock(&k->lock);
	found = find(k, pid, exe_ino, now_ns());
	pthread_mutex_unlock(&k->lock);
	return found;
}

static void keep(struct keeper *k, struct proc_image *im)
{
	struct proc_image *old = NULL;
	__u64 now = now_ns();

	pthread_mutex_lock(&k->lock);
	/* the main thread may have asked meanwhile: it has read the image then */
	if (!find(k, im->pid, im->exe_ino, now)) {
		old = put(k, im->pid, im->exe_ino, now, im);
		k->st.kept++;
		im = NULL;
	}
	pthread_mutex_unlock(&k->lock);
	proc_image__free(old);
	proc_image__free(im);
}

void keeper__read(struct keeper *k, pid_t pid)
{
	struct proc_image *im;
	__u64 ino;

	ino = procfs__exe_ino(pid);
	if (!ino || kept(k, pid, ino))
		return;
	if (!procfs__image(pid, &im))
		keep(k, im);
}

/* Every thread announces its first sample: the first one is read. */
static int on_seen(void *ctx, const void *data, size_t size)
{
	const struct as_proc_event *e = data;

	if (size >= sizeof(*e) && e->type == AS_EV_SEEN)
		keeper__read(ctx, e->tgid);
	return 0;
}

static void *run(void *arg)
{
	struct keeper *k = arg;
	int err = 0;

	while (!atomic_load(&k->stop) && (err >= 0 || err == -EINTR))
		err = tracer__poll_seen(k->tr, POLL_MS);
	/* not a spin on a broken ring: the main thread still reads live processes */
	if (err < 0 && err != -EINTR)
		pr_warn("image keeper stopped: %s\n", strerror(-err));
	return NULL;
}

int keeper__new(struct tracer *tr, struct keeper **out)
{
	struct keeper *k = calloc(1, sizeof(*k));
	int err;

	if (!k)
		return -ENOMEM;
	k->tr = tr;
	pthread_mutex_init(&k->lock, NULL);
	if (!tr)
		goto out;
	err = tracer__watch_seen(tr, on_seen, k);
	if (err)
		goto err_out;
	err = -pthread_create(&k->thread, NULL, run, k);
	if (err)
		goto err_out;
out:
	*out = k;
	return 0;
err_out:
	pthread_mutex_destroy(&k->lock);
	free(k);
	return err;
}

void keeper__free(struct keeper *k)
{
	int i;

	if (!k)
		return;
	atomic_store(&k->stop, true);
	if (k->tr)
		pthread_join(k->thread, NULL);
	for (i = 0; i < KEEPER_SLOTS; i++)
		proc_image__free(k->slots[i].im);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

struct proc_image *keeper__take(struct keeper *k, pid_t pid, __u64 exe_ino)
{
	struct proc_image *im = NULL, *old = NULL;
	__u64 now = now_ns();
	struct slot *s;

	pthread_mutex_lock(&k->lock);
	s = find(k, pid, exe_ino, now);
	if (s) {
		im = s->im;
		s->im = NULL;
		s->ns = now;
	} else {
		old = put(k, pid, exe_ino, now, NULL);
	}
	pthread_mutex_unlock(&k->lock);
	proc_image__free(old);
	return im;
}

void keeper__stats(struct keeper *k, struct keeper_stats *st)
{
	pthread_mutex_lock(&k->lock);
	*st = k->st;
	pthread_mutex_unlock(&k->lock);
}
