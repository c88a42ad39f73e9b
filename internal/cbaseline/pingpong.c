// A same-run baseline for the in-process ask (make bench): two threads
// pass a token back and forth, each waiting on a mutex and a condition
// variable, as the worker threads of a C actor system such as skynet wait
// for their next message. Each round trip is timed alone; it prints the
// mean, p50, p99 and max in microseconds.
//
// What it measures is the machine: two thread wake-ups a round trip. An
// ask between two actors that run on different threads pays the same; one
// whose actors share a thread pays neither.
//
//	cc -O2 -pthread -o bin/cpingpong internal/cbaseline/pingpong.c
//	bin/cpingpong [round trips, 200000 by default]
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct box {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int full;
};

static struct box request = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
static struct box reply = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
static long rounds;

static void put(struct box *b) {
	pthread_mutex_lock(&b->mu);
	b->full = 1;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

static void take(struct box *b) {
	pthread_mutex_lock(&b->mu);
	while (!b->full)
		pthread_cond_wait(&b->cv, &b->mu);
	b->full = 0;
	pthread_mutex_unlock(&b->mu);
}

static double micros(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void *answer(void *unused) {
	(void)unused;
	for (long i = 0; i < rounds; i++) {
		take(&request);
		put(&reply);
	}
	return NULL;
}

static int ascending(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv) {
	rounds = argc > 1 ? atol(argv[1]) : 200000;
	if (rounds < 100) {
		fprintf(stderr, "cpingpong: at least 100 round trips, not %ld\n", rounds);
		return 2;
	}
	double *took = malloc(sizeof(double) * rounds), sum = 0;
	pthread_t peer;
	if (took == NULL || pthread_create(&peer, NULL, answer, NULL) != 0) {
		fprintf(stderr, "cpingpong: cannot start\n");
		return 1;
	}
	for (long i = 0; i < rounds; i++) {
		double t0 = micros();
		put(&request);
		take(&reply);
		took[i] = micros() - t0;
		sum += took[i];
	}
	pthread_join(peer, NULL);
	qsort(took, rounds, sizeof(double), ascending);
	printf("C threads' round trip (a condition variable each way), %ld: mean %.2f us, p50 %.2f, p99 %.2f, max %.0f\n",
	       rounds, sum / rounds, took[rounds / 2], took[rounds * 99 / 100], took[rounds - 1]);
	free(took);
	return 0;
}
