/*
 * Where the client and the server run (Linux). On this project's 2-core
 * virtual machine a round trip to a server process on the client's own
 * core is a context switch, and one to the other core a wake-up across
 * cores that costs ~60 us more; the scheduler chooses per connection and
 * keeps its choice, so within one run one side's connection can get the
 * cheap round trips and the other side's the dear ones, by more than
 * deltasql's whole overhead. Pinned, every round trip of both sides
 * crosses cores, as it crosses the network to a server on another host.
 *
 * The server is the PostgreSQL server bench/run.sh started (its postmaster
 * pid in DELTASQL_BENCH_SERVER_PID): the postmaster and every process it
 * has forked go to CPUs 1..n-1, the benchmark to CPU 0, and backends
 * forked later inherit the postmaster's CPUs. Contention (section 4) runs
 * with every process free again: its writers need every core.
 */
#define _GNU_SOURCE
#include "config.h"
#include "bench.h"

#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pid_t server_pid;
static int pinning; /* 1: pin for sections other than contention */
static char text[160];

/* Sets pid's CPUs to first..last; 0 on success. */
static int set_cpus(pid_t pid, long first, long last)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	for (long c = first; c <= last; c++)
		CPU_SET((int)c, &set);
	return sched_setaffinity(pid, sizeof(set), &set);
}

/* A process's parent, from /proc/PID/stat (-1: gone). */
static pid_t parent_of(const char *pid)
{
	char path[300], buf[512], *close_paren;
	FILE *f;
	int ppid = -1;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	if (fgets(buf, sizeof(buf), f) && (close_paren = strrchr(buf, ')')) != NULL)
		sscanf(close_paren + 2, "%*c %d", &ppid);
	fclose(f);
	return (pid_t)ppid;
}

/* The server's processes: the postmaster and its children. */
static int server_to(long first, long last)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int rc = set_cpus(server_pid, first, last);

	while (rc == 0 && d && (e = readdir(d)) != NULL)
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9' && parent_of(e->d_name) == server_pid)
			set_cpus((pid_t)atol(e->d_name), first, last); /* may have exited */
	if (d)
		closedir(d);
	return rc;
}

void placement_init(int allowed)
{
	const char *pid = getenv("DELTASQL_BENCH_SERVER_PID");
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	server_pid = pid ? (pid_t)atol(pid) : 0;
	if (!allowed)
		snprintf(text, sizeof(text), "not pinned (--no-pin): the scheduler's choice");
	else if (server_pid <= 0)
		snprintf(text, sizeof(text),
		         "not pinned: the server was not started by bench/run.sh");
	else if (cpus < 2)
		snprintf(text, sizeof(text), "not pinned: one core");
	else if (server_to(1, cpus - 1) != 0)
		snprintf(text, sizeof(text), "not pinned: cannot set the server's CPUs");
	else {
		char server[32];

		pinning = 1;
		if (cpus == 2)
			snprintf(server, sizeof(server), "CPU 1");
		else
			snprintf(server, sizeof(server), "CPUs 1-%ld", cpus - 1);
		snprintf(text, sizeof(text),
		         "benchmark on CPU 0, PostgreSQL server on %s (sections 1-3, 5, 6 of server"
		         " backends); contention on every CPU", server);
	}
	placement_free();
}

const char *placement_text(void)
{
	return text;
}

void placement_pin(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (!pinning)
		return;
	server_to(1, cpus - 1);
	set_cpus(0, 0, 0);
}

void placement_free(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (server_pid > 0)
		server_to(0, cpus - 1);
	set_cpus(0, 0, cpus - 1);
}
